"""Real host files of the running Python installation, with a stable key and split (SPEC §0)."""

from __future__ import annotations

import hashlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PII_EXTS = (".py", ".pyi", ".c", ".h", ".js", ".json", ".yaml", ".yml", ".ini", ".cfg",
            ".toml", ".md", ".rst", ".txt", ".sh")
MIN_BYTES, MAX_BYTES = 200, 100_000
HELDOUT_WARNING = ("NOTE: the heldout split must never be used for tuning (rules, thresholds, "
                   "allow-lists); it is for reporting only (benchmarks/evalsets/SPEC.md).")


@dataclass(frozen=True)
class Host:
    key: str      # stdlib/<rel> or site-packages/<rel>
    path: str     # absolute path on this machine
    ext: str
    size: int


def split_of(key: str) -> str:
    return "heldout" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 5 == 0 else "dev"


def _roots() -> list[tuple[str, Path]]:
    paths = sysconfig.get_paths()
    stdlib = Path(paths["stdlib"]).resolve()
    roots = [("stdlib", stdlib)]
    for name in ("purelib", "platlib"):
        p = Path(paths[name]).resolve()
        if all(p != r for _, r in roots):
            roots.append(("site-packages", p))
    return roots


_CACHE: list[Host] | None = None


def all_hosts() -> list[Host]:
    """Every candidate host file (any of PII_EXTS), sorted by key."""
    global _CACHE
    if _CACHE is not None:
        return _CACHE
    out: dict[str, Host] = {}
    roots = _roots()
    site_roots = [r for n, r in roots if n == "site-packages"]
    for label, root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            if label == "stdlib" and any(d == s or s in d.parents for s in site_roots):
                dirnames[:] = []
                continue
            dirnames[:] = sorted(x for x in dirnames if x not in ("__pycache__", "site-packages"))
            for fn in filenames:
                ext = os.path.splitext(fn)[1].lower()
                if ext not in PII_EXTS:
                    continue
                p = d / fn
                if p.is_symlink():
                    continue
                try:
                    real = p.resolve()
                    # the editable stackpipe install (or anything resolving into this
                    # repository outside the scanned root) is never a host
                    if REPO_ROOT in real.parents and root not in real.parents:
                        continue
                    size = p.stat().st_size
                except OSError:
                    continue
                if not MIN_BYTES <= size <= MAX_BYTES:
                    continue
                key = f"{label}/{p.relative_to(root).as_posix()}"
                out.setdefault(key, Host(key, str(p), ext, size))
    _CACHE = [out[k] for k in sorted(out)]
    return _CACHE


def read_text(host: Host) -> str | None:
    try:
        data = Path(host.path).read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "\x00" in text:
        return None
    return text


def ordered(split: str, seed: int, exts: tuple[str, ...] | None = None, salt: str = "") -> list[Host]:
    """Hosts of `split` in a seeded, stable order."""
    hs = [h for h in all_hosts() if split_of(h.key) == split and (exts is None or h.ext in exts)]
    return sorted(hs, key=lambda h: hashlib.sha256(f"{seed}:{salt}:{h.key}".encode()).hexdigest())


def unchanged_texts(split: str, seed: int, salt: str, max_bytes: int,
                    skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(key, text) of unchanged hosts of `split` in the seeded order, until `max_bytes`;
    hosts whose key holds any of `skip` are passed over."""
    out, total = [], 0
    for host in ordered(split, seed, salt=salt):
        if total >= max_bytes:
            break
        if any(part in host.key for part in skip):
            continue
        text = read_text(host)
        if text is None:
            continue
        out.append((host.key, text))
        total += len(text.encode())
    return out


def rng_seed(*parts) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:16], 16)


def line_boundaries(text: str) -> list[int]:
    """Offsets where a new line may be inserted: 0 and after every '\\n'."""
    out = [0]
    i = text.find("\n")
    while i != -1:
        out.append(i + 1)
        i = text.find("\n", i + 1)
    return out
