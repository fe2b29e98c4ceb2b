"""The license stage inside `stackpipe curate`: licence files of a repository decide its files."""

from __future__ import annotations

import json
import shutil
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import curate
from stdlib_corpus import copy_rules

STDLIB = Path(sysconfig.get_paths()["stdlib"])
COMMON_LICENSES = Path("/usr/share/common-licenses")


def rows(directory: Path) -> list[dict]:
    return [r for p in sorted(directory.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    """acme/mit: MIT at the root, a GPL-3.0 subdirectory (vendor/); acme/gpl: GPL-3.0 at the
    root; acme/none: no licence file; optout/thing: MIT but its owner opted out."""
    gpl = COMMON_LICENSES / "GPL-3"
    if not gpl.exists():
        pytest.skip("Debian's /usr/share/common-licenses/GPL-3 is not on this machine")
    import yaml  # pyyaml's real MIT licence text

    mit = next(Path(yaml.__file__).parent.parent.glob("[Pp]y[Yy][Aa][Mm][Ll]-*.dist-info/**/LICENSE*"))
    root = tmp_path_factory.mktemp("licensed")
    layout = {"acme/mit": mit, "acme/mit/vendor": gpl, "acme/gpl": gpl, "optout/thing": mit}
    for directory, licence in layout.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(licence, root / directory / "LICENSE")
    # a different real module in each place, so exact dedup keeps them all
    modules = ("textwrap.py", "shlex.py", "fnmatch.py", "glob.py", "colorsys.py")
    for repo, module in zip(("acme/mit", "acme/mit/vendor", "acme/gpl", "acme/none", "optout/thing"), modules):
        (root / repo).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STDLIB / module, root / repo / "code.py")
    rules = tmp_path_factory.mktemp("rules")
    copy_rules(rules)
    text = (rules / "licenses.yaml").read_text()
    (rules / "licenses.yaml").write_text(text.replace("owners: []", "owners: [optout]"))
    output = tmp_path_factory.mktemp("out")
    stats = curate.run(["--input", str(root), "--output", str(output), "--no-progress", "--rules", str(rules)])
    return output, stats


def by_path(output: Path, kind: str) -> dict[str, dict]:
    return {f"{r['repo']}/{r['path']}": r for r in rows(output / kind)}


def test_root_licence_applies_and_a_subdirectory_licence_overrides_it(curated):
    output, _ = curated
    kept, rejected = by_path(output, "documents"), by_path(output, "rejected")
    assert kept["acme/mit/code.py"]["license"] == "MIT"
    assert kept["acme/mit/code.py"]["license_type"] == "permissive"
    assert rejected["acme/mit/vendor/code.py"]["reason"] == "license_non_permissive"


def test_copyleft_repository_is_dropped_and_unlicensed_kept_by_default(curated):
    output, _ = curated
    kept, rejected = by_path(output, "documents"), by_path(output, "rejected")
    assert rejected["acme/gpl/code.py"]["license"].startswith("GPL-3.0")
    assert kept["acme/none/code.py"]["license_type"] == "no_license"


def test_opted_out_owner_is_dropped_whatever_its_licence(curated):
    output, stats = curated
    rejected = by_path(output, "rejected")
    assert rejected["optout/thing/code.py"]["reason"] == "opted_out"
    assert json.loads(rejected["optout/thing/code.py"]["meta"])["license_detail"].startswith("MIT")
    # the LICENSE files are text documents too, and follow their directory's licence
    assert stats["conservation"] and stats["stages"]["license"]["dropped"] == {
        "license_non_permissive": 4, "opted_out": 2}
