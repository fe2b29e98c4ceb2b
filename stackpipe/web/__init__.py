"""CommonCrawl: WARC files -> code-related web pages (DeepSeek-Coder-V2's web source).

Modules: warc (streaming WARC reading with FastWARC, warcio for recovery, corrupt records
rejected), urls (URL normalisation, domains, allow/deny), extract (resiliparse main text),
codeblocks (code blocks whole and in place, as a reader copies them),
classifier (fastText training with recall rounds, loading, scoring), stages (the
pipeline's stage callables and input planning), cli (`stackpipe web train-classifier`).
"""

from stackpipe.web.classifier import ClassifierError, ClassifyPages, Page, load_model, train, train_rounds
from stackpipe.web.extract import extract_page, html_text
from stackpipe.web.stages import STAGES, plan_warcs
from stackpipe.web.urls import check_domain, normalize_url, registered_domain
from stackpipe.web.warc import read_warc

__all__ = [
    "STAGES", "ClassifierError", "ClassifyPages", "Page", "check_domain", "extract_page", "html_text", "load_model",
    "normalize_url", "plan_warcs", "read_warc", "registered_domain", "train", "train_rounds",
]
