"""Files kept and dropped by the licence stage on this machine's Python installation.

Corpus: `python-env://` (the standard library as `python/cpython` and every installed
distribution as `pypi/<name>`), run through the curate stages as `stackpipe curate` does
(read, decode, quality, then the licence stage with the repository's licence files),
one repository at a time, in-process, no Beam.

The truth for a project's own licence is what its metadata declares (License-Expression,
the License field, trove classifiers: `stackpipe.sources.pylicense`), which never looks
at the detector. Figures, one per line:

- files of projects whose declared licence is permissive: kept, dropped, and the share
  kept; files among them whose own SPDX header names a copyleft licence are dropped
  rightly and counted apart;
- the projects with most such files dropped, with the licence that dropped them;
- leaks: kept files under GPL / LGPL / AGPL / MPL with no exception, by the truth: the
  project declares only such licences (no permissive alternative), or the file's own
  SPDX header names one;
- projects with no usable declared licence (their files are counted apart).

    python benchmarks/licenses_kept.py [--top 10] [--only NAME ...]

On the project's venv (241 repositories, 31,736 files reaching the licence stage):
before licence-file sections, 26,615 kept / 3,371 dropped (88.76%; numpy, scipy,
botocore, matplotlib, fonttools, setuptools top); after, 29,907 / 79 (99.74%; what is
left: matplotlib's OFL / BaKoMa font files, setuptools' vendored LGPL autocommand and
MPL files, pip's vendored certifi), 0 leaks both times.
"""

from __future__ import annotations

import argparse
import collections
import re
import time

from stackpipe.curation import AssignLicense, CheckQuality, DecodeFiles, ReadInputs, license_file_text, license_maps
from stackpipe.licenses import classify, license_ids, normalize_expression
from stackpipe.records import FileRecord, RawFile
from stackpipe.rules import load_rules
from stackpipe.sources.pyenv import plan_python_env

COPYLEFT = re.compile(r"^(?:A?GPL|LGPL|MPL)-")
_SPDX_TAG = re.compile(r"SPDX-License-Identifier:\s*([^\n*]*?)\s*(?:\*/|-->|\*\)|#\}|$)", re.M)


def copyleft_without_exception(expression: str, rules) -> bool:
    """Whether `expression` can only be taken under GPL/LGPL/AGPL/MPL terms with no exception."""
    if not expression or classify(expression, rules) == "permissive" or " WITH " in expression:
        return False
    return any(COPYLEFT.match(i) for i in license_ids(expression))


def own_header(text: str) -> str:
    """The file's own SPDX tag(s), read here without the detector."""
    tags = [normalize_expression(m.group(1)) for m in _SPDX_TAG.finditer(text[:4096])]
    return " AND ".join(f"({t})" for t in tags if t) if len(tags) > 1 else (tags[0] if tags else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="projects listed by dropped files")
    parser.add_argument("--only", nargs="*", help="canonical distribution names (and/or 'cpython') to run")
    args = parser.parse_args(argv)
    rules = load_rules()
    policy = rules.licenses
    read, decode, quality, assign = ReadInputs(rules), DecodeFiles(rules), CheckQuality(rules), AssignLicense(rules)
    decode.setup()
    units = plan_python_env("python-env://")
    if args.only:
        wanted = set(args.only)
        units = [u for u in units if u.repo.split("/", 1)[1] in wanted or (u.repo == "python/cpython" and "cpython" in wanted)]
    started = time.perf_counter()
    kept = dropped = header_dropped = leaks = reached = 0
    no_declared: dict[str, int] = {}
    other: collections.Counter = collections.Counter()
    by_project: dict[str, tuple[int, collections.Counter]] = {}
    leak_lines = []
    for unit in units:
        licence_files, records = [], []
        for item in read(unit):
            if not isinstance(item, RawFile):
                continue
            licence_files += [pair for _, pair in license_file_text(item)]
            record = decode(item)
            if isinstance(record, FileRecord):
                record = quality(record)
                if isinstance(record, FileRecord):
                    records.append(record)
        declared = normalize_expression(unit.license or "")
        declared_type = classify(declared, policy)
        project_copyleft = copyleft_without_exception(declared, policy)
        name = unit.repo.split("/", 1)[1]
        maps = dict(license_maps((unit.repo, {"license_files": licence_files,
                                              "stated": sorted({r.license for r in records})})))
        for record in records:
            result = assign(record, maps)
            reached += 1
            ok = isinstance(result, FileRecord)
            header = own_header(record.content)
            # a file's own SPDX tag is more specific than what the project declares
            if ok and (copyleft_without_exception(header, policy) if header else project_copyleft):
                leaks += 1
                leak_lines.append(f"LEAK {unit.repo} {record.path}: declared {declared or '-'}, header {header or '-'}, "
                                  f"kept as {result.license}")
            if not declared:
                no_declared[name] = no_declared.get(name, 0) + 1
            elif declared_type != "permissive":
                other[ok] += 1
            elif ok:
                kept += 1
            elif header and classify(header, policy) == "non_permissive":
                header_dropped += 1
            else:
                dropped += 1
                count, reasons = by_project.get(name, (0, collections.Counter()))
                reasons[result.record.license or "-"] += 1
                by_project[name] = (count + 1, reasons)
    elapsed = time.perf_counter() - started
    for line in leak_lines:
        print(line)
    permissive_files = kept + dropped
    print(f"repositories: {len(units)}; files reaching the licence stage: {reached} ({elapsed:.0f} s)")
    print(f"permissive-declared projects: {kept} files kept, {dropped} dropped, "
          f"{kept / max(permissive_files, 1):.2%} kept")
    print(f"permissive-declared projects: {header_dropped} files dropped by their own copyleft SPDX header (right)")
    top = sorted(by_project.items(), key=lambda kv: -kv[1][0])[:args.top]
    print("top dropped: " + (", ".join(f"{name} {count} ({', '.join(f'{lic}' for lic, _ in reasons.most_common(2))})"
                                       for name, (count, reasons) in top) or "none"))
    print(f"leaks (GPL/LGPL/AGPL/MPL, no exception, kept): {leaks}")
    print(f"non-permissive-declared projects: {other[True]} files kept, {other[False]} dropped")
    print(f"no usable declared licence: {len(no_declared)} projects, {sum(no_declared.values())} files: "
          + ", ".join(sorted(no_declared)))


if __name__ == "__main__":
    main()
