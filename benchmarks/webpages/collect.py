"""Find real documentation pages on this machine and sample them (SPEC.md §1).

A page is named by a stable key, `<generator>/<path relative to the site root>`, so
neither the split nor the sample depends on where a toolchain is installed. Split:
`heldout` when sha256(key) % 5 == 0 (20%), else `dev`. Sample: a split's candidates
sorted by sha256(f"{seed}:{key}"), the first N taken. Pages over 1,000,000 bytes are
not candidates, because CommonCrawl truncates payloads at 1 MiB, nor are pages under
2 KB (redirect stubs).

    python -m benchmarks.webpages.collect [--pages N] [--seed S]   # lists what it finds
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

from benchmarks.webpages.generators import GENERATORS, UNAVAILABLE, Generator

MAX_BYTES = 1_000_000
MIN_BYTES = 2_048  # smaller pages are redirect stubs
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Page:
    """A sampled page: `key` (generator/relative path), `path` on disk, `url`, `split`."""

    generator: str
    key: str
    path: Path
    url: str
    split: str


def split_of(key: str) -> str:
    return "heldout" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 5 == 0 else "dev"


def candidates(gen: Generator) -> list[Page]:
    """Every usable page of `gen` on this machine (empty when its site is missing)."""
    site = gen.site()
    if site is None:
        return []
    found: set[Path] = set()
    for pattern in gen.patterns:
        found.update(p for p in site.glob(pattern) if p.is_file() and not p.is_symlink())
    pages = []
    for path in sorted(found):
        rel = path.relative_to(site).as_posix()
        if any(x in "/" + rel for x in gen.exclude) or not MIN_BYTES <= path.stat().st_size <= MAX_BYTES:
            continue
        key = f"{gen.name}/{rel}"
        pages.append(Page(gen.name, key, path, gen.url + rel, split_of(key)))
    return pages


def sample(gen: Generator, split: str, n: int, seed: int) -> list[Page]:
    """The first `n` pages of `split` in the seeded hash order."""
    pool = [p for p in candidates(gen) if p.split == split]
    pool.sort(key=lambda p: hashlib.sha256(f"{seed}:{p.key}".encode()).hexdigest())
    return pool[:n]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="List the documentation pages found here.")
    parser.add_argument("--pages", type=int, default=0, help="also list N sampled dev pages")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for gen in GENERATORS:
        pages = candidates(gen)
        dev = sum(p.split == "dev" for p in pages)
        state = str(gen.site()) if pages else "unavailable (no pages under " + gen.root + ")"
        print(f"{gen.name:11s} pages {len(pages):6d} dev {dev:6d} heldout {len(pages) - dev:5d}  {state}")
        for page in sample(gen, "dev", args.pages, args.seed):
            print(f"    {page.url}")
    for name, why in UNAVAILABLE.items():
        print(f"{name:11s} unavailable: {why}")


if __name__ == "__main__":
    main()
