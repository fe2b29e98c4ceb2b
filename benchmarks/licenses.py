"""Licence detection accuracy on this machine's installed Python distributions.

Every licence file of every installed distribution (`*.dist-info/` LICENSE*, COPYING*,
NOTICE*, `licenses/...`) and CPython's own LICENSE is run through `detect_licenses`, one
distribution at a time as the curate stage does, and what each file says is compared
with a label made without the matcher:

- `benchmarks/data/license_labels.tsv`, hand-checked: the distribution's metadata
  (License-Expression, License, classifiers) for its own licence file, ScanCode
  32.5.0 for bundled third-party files, the text read by hand where those disagree;
- for a file the table does not list (another version, another machine), the
  distribution's metadata licence when the file is its only licence file; other files
  are counted as unlabelled and left out.

A file is right when it names the same licences as its label (ids and `WITH`
exceptions; AND/OR structure is not judged, a file can only list what it holds).

    python benchmarks/licenses.py [--show-all]
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata as metadata
import re
import sysconfig
import time
from pathlib import Path

from stackpipe.licenses import classify, detect_licenses, is_license_file
from stackpipe.rules import load_rules
from stackpipe.sources.pyenv import canonical_name
from stackpipe.sources.pylicense import distribution_license

LABELS = Path(__file__).resolve().parent / "data" / "license_labels.tsv"
_OWN_LICENSE = re.compile(r"^(?:[\w.+-]*[-_.])?(licen[cs]es?|copying|unlicen[cs]e)(?:[-_.][\w.+-]*)?$", re.I)


def licence_set(expression: str) -> frozenset[str]:
    """Ids of an expression, `X WITH e` kept whole: "MIT AND (A OR B)" -> {MIT, A, B}."""
    return frozenset(t.strip() for t in re.split(r"\s+(?:AND|OR)\s+|[()]", expression) if t.strip())


def load_labels() -> dict[tuple[str, str], str]:
    with LABELS.open(encoding="utf-8") as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {(row["distribution"], row["path"]): row["expected"] for row in rows}


def corpus() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(distribution, metadata licence, [(path in its dist-info dir, text)]) per distribution."""
    found = []
    seen = set()
    for dist in metadata.distributions():
        name = canonical_name(dist.metadata["Name"] or "")
        if not name or name in seen or not dist.files:
            continue
        seen.add(name)
        files = []
        for file in dist.files:
            parts = file.parts
            if parts[0].endswith(".dist-info") and len(parts) > 1 and is_license_file(str(file)):
                rel = "/".join(parts[1:])
                files.append((rel, Path(dist.locate_file(file)).read_text(encoding="utf-8", errors="replace")))
        if files:
            found.append((name, distribution_license(dist.metadata), files))
    cpython = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if cpython.exists():
        found.append(("cpython", "PSF-2.0", [("LICENSE.txt", cpython.read_text(encoding="utf-8"))]))
    return sorted(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-all", action="store_true", help="print every file, not only the misses")
    args = parser.parse_args(argv)
    rules = load_rules().licenses
    labels = load_labels()
    dists = corpus()
    right, misses, unlabelled, unsafe, lines = 0, [], 0, [], []
    files = 0
    started = time.perf_counter()
    detected = {}
    for name, meta, dist_files in dists:
        # Detection as curate runs it: one repository's files at a time (paths as in the
        # dist-info folder, which is where `detect_licenses` looks for them).
        licence_map = detect_licenses(((f"{name}.dist-info/{rel}", text) for rel, text in dist_files), meta)
        for rel, _ in dist_files:
            detected[(name, rel)] = licence_map.license_files[f"{name}.dist-info/{rel}"]
        files += len(dist_files)
    elapsed = time.perf_counter() - started
    for name, meta, dist_files in dists:
        own = [rel for rel, _ in dist_files if "/" not in rel.removeprefix("licenses/")
               and _OWN_LICENSE.match(rel.rsplit("/", 1)[-1])]
        for rel, _ in dist_files:
            expected = labels.get((name, rel))
            if expected is None and meta and own == [rel]:
                expected = meta
            found = detected[(name, rel)]
            if expected is None:
                unlabelled += 1
                lines.append(f"unlabelled {name} {rel}: {found.expression or '-'}")
                continue
            ok = licence_set(found.expression) == licence_set(expected)
            right += ok
            line = f"{'ok  ' if ok else 'MISS'} {name} {rel}: expected {expected or '-'}, got {found.expression or '-'} [{found.detail}]"
            if not ok:
                misses.append(line)
            elif args.show_all:
                lines.append(line)
            if classify(expected, rules) == "non_permissive" and classify(found.expression, rules) == "permissive":
                unsafe.append(line)
    labelled = right + len(misses)
    for line in lines + misses:
        print(line)
    print(f"files: {files} licence files of {len(dists)} distributions ({labelled} labelled, {unlabelled} unlabelled)")
    print(f"accuracy: {right / max(labelled, 1):.2%} ({right}/{labelled}) identified to the labelled SPDX ids")
    print(f"misses: {len(misses)}")
    print(f"non_permissive classified permissive: {len(unsafe)}")
    print(f"speed: {files / elapsed:.0f} files/s ({elapsed:.2f} s for {files} files, one process)")


if __name__ == "__main__":
    main()
