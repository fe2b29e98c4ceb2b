"""web.yaml: CommonCrawl pages (which WARC records are read, domain lists, the code-page
classifier, quality overrides for web pages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from stackpipe.rules.loader import Checked, fraction, parse_fields, parsed_by, ranged
from stackpipe.rules.quality import QualityThresholds, apply_thresholds


@dataclass(frozen=True, kw_only=True)
class WarcReadRules(Checked):
    """Which WARC response records become pages. `content_types` are matched against the
    HTTP Content-Type and CommonCrawl's WARC-Identified-Payload-Type (either will do);
    `statuses` are the HTTP status codes kept; a payload larger than `max_html_bytes`
    is rejected unread; `verify_digests` checks WARC-Payload/Block-Digest (SHA-1)."""

    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    statuses: tuple[int, ...] = ranged((200,), 100, 599)  # HTTP status codes
    max_html_bytes: int = ranged(5_000_000, 1)
    verify_digests: bool = True


@dataclass(frozen=True, kw_only=True)
class DomainRules:
    """Host names matched with their subdomains (`python.org` matches `docs.python.org`).
    An empty `allow` allows every domain; `deny` wins over `allow`."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("allow", "deny"):
            for host in getattr(self, name):
                if not host or host != host.strip().lower().strip(".") or "/" in host or ":" in host:
                    raise ValueError(f"{name} entry {host!r} must be a lower-case host name such as "
                                     f"'example.com' (no scheme, port or path)")


@dataclass(frozen=True, kw_only=True)
class ClassifierTraining(Checked):
    """fastText supervised training. fastText makes one update per page, so a seed set of
    hundreds of pages needs many epochs at a higher rate: the defaults (dimension 64,
    rate 0.5, 25 epochs, word bigrams) suit thousands of seeds. DeepSeekMath (arXiv
    2402.03300) trained on 500K + 500K pages with dimension 256, rate 0.1, word n-grams
    up to 3, minimum count 3 and 3 epochs. `bucket` sizes the n-gram table (the model
    file is about (vocabulary + bucket) x dim x 4 bytes). One thread and a fixed seed
    make training deterministic. `max_negatives_per_positive` bounds the negatives
    sampled from the crawl (`None`: all)."""

    dim: int = ranged(64, 1)
    lr: float = ranged(0.5, 0, 10, open_low=True)
    word_ngrams: int = ranged(2, 1)
    min_count: int = ranged(3, 1)
    epoch: int = ranged(25, 1)
    bucket: int = ranged(200_000, 1)
    seed: int = ranged(0, 0, 2**31 - 1)  # fastText takes a C int
    max_negatives_per_positive: float | None = ranged(3.0, 0, open_low=True)


@dataclass(frozen=True, kw_only=True)
class RecallRounds(Checked):
    """Iterative recall (DeepSeekMath §2.1): after a round, pages of the pool scoring at
    least the classifier's `threshold` become positives of the next round; a domain with
    at least `domain_fraction` of its pool pages recalled is taken as code-related and
    all its pool pages become positives (`None`: no domain expansion; DeepSeekMath used
    0.1, then picked the URL paths by hand). Later rounds draw
    their negatives from the pool pages neither recalled nor in such a domain."""

    rounds: int = ranged(1, 1)
    domain_fraction: float | None = fraction(None)


@dataclass(frozen=True, kw_only=True)
class ClassifierRules(Checked):
    """The code-page classifier: pages whose probability of `label` is below `threshold`
    are dropped. `max_tokens` caps the words of a page the model reads."""

    label: str = "__label__code"
    negative_label: str = "__label__other"
    threshold: float = fraction(0.5)
    max_tokens: int = ranged(4000, 1)
    train: ClassifierTraining = ClassifierTraining()
    recall: RecallRounds = RecallRounds()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("label", "negative_label"):
            value = getattr(self, name)
            if not value.startswith("__label__") or len(value.split()) != 1:
                raise ValueError(f"{name} {value!r} must be one word starting with '__label__'")
        if self.label == self.negative_label:
            raise ValueError(f"label and negative_label are both {self.label!r}")


def _parse_quality(value: Any, *, file: str, key: str) -> dict:
    """Some QualityThresholds keys, type-checked like quality.yaml's."""
    return parse_fields(QualityThresholds, value, file=file, key=key)


@dataclass(frozen=True, kw_only=True)
class WebRules(Checked):
    """CommonCrawl pages (stackpipe.web). `language`: the language given to extracted
    pages (defined in languages.yaml); `quality`: threshold overrides applied on top of
    quality.yaml's for that language, for web pages only (paragraphs make long lines).
    `main_content`: resiliparse's main-content heuristics (main-content code blocks are
    kept whole and in place through them). `code_page_min_chars`: the least text a page
    needs when it holds whole code blocks (a short reference page: one declaration and a
    sentence), instead of `quality.min_chars` (None: no exception for code pages)."""

    language: str = "Text"
    main_content: bool = True
    read: WarcReadRules = WarcReadRules()
    domains: DomainRules = DomainRules()
    classifier: ClassifierRules = ClassifierRules()
    quality: Mapping[str, Any] = parsed_by(_parse_quality, default_factory=dict)
    code_page_min_chars: int | None = ranged(60, 1)

    def __post_init__(self) -> None:
        super().__post_init__()
        # Checked here on their own; on top of quality.yaml's thresholds by `load_rules`.
        apply_thresholds(QualityThresholds(), self.quality, key="quality")
