"""StarCoder's HTML check (arXiv 2305.06161, §3.2; bigcode-dataset).

StarCoder keeps an HTML file only when its visible text is at least 20% of the file and
at least 100 characters long, to drop pages that are mostly markup, scripts and styles
while keeping ones that teach something in words.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from stackpipe.records import KEEP, Drop, FileRecord, Verdict
from stackpipe.rules import QualityThresholds

# Never rendered as page text.
_INVISIBLE = ["script", "style", "head", "noscript", "template"]


def visible_text(html: str) -> str:
    """The text a browser would show, whitespace-collapsed; parsed with Lexbor (a real
    HTML5 parser) so malformed pages read as a browser reads them."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(_INVISIBLE)
    # A separator keeps words of adjacent elements apart; split/join collapses it.
    return " ".join(tree.root.text(separator=" ").split()) if tree.root is not None else ""


def check_html_visible_text(record: FileRecord, t: QualityThresholds) -> Verdict:
    """Drop HTML whose visible text is below `min_html_visible_fraction` of the file or
    shorter than `min_html_visible_chars` (StarCoder: 0.2 and 100)."""
    if t.min_html_visible_fraction is None and t.min_html_visible_chars is None:
        return KEEP
    if not record.content:
        return Drop("html_visible_text", "empty file: no visible text")
    chars = len(visible_text(record.content))
    if t.min_html_visible_chars is not None and chars < t.min_html_visible_chars:
        return Drop("html_visible_text", f"visible chars={chars} < min_html_visible_chars={t.min_html_visible_chars}")
    fraction = chars / len(record.content)
    if t.min_html_visible_fraction is not None and fraction < t.min_html_visible_fraction:
        return Drop(
            "html_visible_text",
            f"visible text fraction={fraction:.3f} < min_html_visible_fraction={t.min_html_visible_fraction}",
        )
    return KEEP
