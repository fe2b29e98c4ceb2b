"""URLs and domains of web pages: normalisation, the record's `repo`, the allow/deny policy.

A page's `repo` is its registered domain (eTLD+1 by the public suffix list bundled with
tldextract, never fetched: `docs.python.org` -> `python.org`; private suffixes count, so `user.github.io` is
its own domain), so near-dedup and stats
group a site's pages together; an IP address or a single-label host is its own domain.
Its `path` is the normalised URL, so two fetches of one page have one record id.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit, urlunsplit

from stackpipe.records import KEEP, Drop, RawFile, Verdict
from stackpipe.rules import DomainRules

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """Scheme and host lower-cased, default port and fragment removed, an empty path made
    `/`; the path and query are kept as they are (servers may treat them case-sensitively)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unparsable port or bracketed host: keep the URL as it came
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    """The lower-cased host of `url` without port or trailing dot; "" when it has none."""
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


@functools.lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # The bundled snapshot only: nothing is downloaded at run time.
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
                                include_psl_private_domains=True)


@functools.lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """`docs.python.org` -> `python.org`; a host without a public suffix is returned whole."""
    if not host:
        return ""
    parts = _extractor()(host)
    return parts.top_domain_under_public_suffix or host


def matches(host: str, names: tuple[str, ...]) -> str | None:
    """The entry of `names` that `host` is, or is a subdomain of; None when none is."""
    for name in names:
        if host == name or host.endswith("." + name):
            return name
    return None


def check_domain(raw: RawFile, rules: DomainRules) -> Verdict:
    """Drop `domain_denied` when the page's host is on the deny list, `domain_not_allowed`
    when an allow list exists and the host is not on it."""
    host = raw.meta.get("host", "")
    denied = matches(host, rules.deny)
    if denied is not None:
        return Drop("domain_denied", f"host {host!r} matches deny entry {denied!r}")
    if rules.allow and matches(host, rules.allow) is None:
        return Drop("domain_not_allowed", f"host {host!r} matches no allow entry")
    return KEEP
