"""No raw secret reaches any output: files dropped by quality, licence and PII leave only
metadata in rejected/, and the opt-in `rejected_content: redacted` keeps redacted text."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import curate
from stackpipe.rules import DEFAULT_RULES_DIR

STDLIB = Path(sysconfig.get_paths()["stdlib"])
LICENSE_TEXTS = Path(__file__).resolve().parents[1] / "stackpipe" / "licenses" / "data" / "texts"

# Realistic values, assembled so that no secret scanner mistakes this file for a leak.
SECRETS = {
    "github": "ghp_" + "R8x2LmQ9vT4kZ7nB1cW5yH3jF6dS0aPeUiOq",
    "aws_id": "AKIA" + "Z3MHQ7RXV5NJ2KPW",
    "email": "jane.doe@acme-corp.io",
    "ip": "52.14.200.7",
    "password": "Tr0ub4dor&3x",
}
SECRET_LINES = (f'GITHUB_TOKEN = "{SECRETS["github"]}"\nAWS_ACCESS_KEY_ID = "{SECRETS["aws_id"]}"\n'
                f'# Maintainer: Jane Doe <{SECRETS["email"]}>\nSERVER = "{SECRETS["ip"]}"\n'
                f'password = "{SECRETS["password"]}"\n')


def write_tree(root: Path) -> Path:
    """Two repositories: an MIT one with a kept file, a file quality drops and a file that
    only PII drop mode drops; a GPL one whose file the licence policy drops. Every dropped
    file holds every secret."""
    mit, gpl = root / "acme" / "tool", root / "gnu" / "thing"
    mit.mkdir(parents=True)
    gpl.mkdir(parents=True)
    shutil.copyfile(LICENSE_TEXTS / "MIT.txt", mit / "LICENSE")
    shutil.copyfile(LICENSE_TEXTS / "GPL-3.0-only.txt", gpl / "COPYING")
    shutil.copyfile(STDLIB / "colorsys.py", mit / "colorsys.py")
    (mit / "too_long.py").write_text(SECRET_LINES + "X = '" + "ab cd " * 300 + "'\n")  # one 1800-char line
    (mit / "settings.py").write_text(SECRET_LINES + (STDLIB / "shlex.py").read_text())
    (gpl / "settings.py").write_text(SECRET_LINES + (STDLIB / "textwrap.py").read_text())
    return root


def rules_with(tmp_path: Path, **pii) -> Path:
    """A copy of the bundled rules with top-level pii.yaml keys set."""
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    settings = yaml.safe_load((target / "pii.yaml").read_text())
    (target / "pii.yaml").write_text(yaml.safe_dump({**settings, **pii}))
    return target


def output_texts(output: Path) -> dict[str, str]:
    """Every output file's text: Parquet decoded to its rows, anything else as UTF-8."""
    texts = {}
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            texts[str(path)] = repr(pq.read_table(path).to_pylist())
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


def leaks(texts: dict[str, str], log: str) -> list[tuple[str, str]]:
    found = [(name, kind) for name, text in texts.items() for kind, value in SECRETS.items() if value in text]
    return found + [("stderr/stdout", kind) for kind, value in SECRETS.items() if value in log]


def rejected_rows(output: Path) -> list[dict]:
    return [row for part in sorted((output / "rejected").glob("*.parquet")) for row in pq.read_table(part).to_pylist()]


def test_no_raw_secret_in_any_output_of_files_dropped_by_quality_licence_and_pii(tmp_path, capfd):
    tree = write_tree(tmp_path / "dump")
    output = tmp_path / "out"
    rules = rules_with(tmp_path, mode="drop")
    curate.run(["--input", str(tree / "acme"), str(tree / "gnu"), "--output", str(output), "--rules", str(rules)])
    captured = capfd.readouterr()
    reasons = {(row["path"], row["stage"]) for row in rejected_rows(output)}
    assert {("too_long.py", "quality"), ("settings.py", "license"), ("settings.py", "pii")} <= reasons
    assert leaks(output_texts(output), captured.out + captured.err) == []


def test_rejected_rows_keep_metadata_without_content_by_default(tmp_path):
    tree = write_tree(tmp_path / "dump")
    output = tmp_path / "out"
    curate.run(["--input", str(tree / "acme"), str(tree / "gnu"), "--output", str(output), "--no-progress"])
    dropped = {row["path"]: row for row in rejected_rows(output) if row["stage"] in ("quality", "license")}
    row = dropped["too_long.py"]
    assert row["content"] == "" and row["size_bytes"] > 1800 and len(row["content_hash"]) == 64
    assert row["reason"] and row["repo"] == "tool" and "detail" in row["meta"]


def test_opt_in_rejected_content_is_redacted(tmp_path):
    tree = write_tree(tmp_path / "dump")
    output = tmp_path / "out"
    rules = rules_with(tmp_path, rejected_content="redacted")
    curate.run(["--input", str(tree / "acme"), str(tree / "gnu"), "--output", str(output), "--rules", str(rules),
                "--no-progress"])
    dropped = {(row["path"], row["stage"]): row for row in rejected_rows(output)}
    for key in (("too_long.py", "quality"), ("settings.py", "license")):
        content = dropped[key]["content"]
        assert "<KEY>" in content and "<EMAIL>" in content and "<PASSWORD>" in content, key
    assert leaks(output_texts(output), "") == []


@pytest.mark.parametrize("value", ["maybe", ""])
def test_unknown_rejected_content_setting_is_an_error(tmp_path, value):
    from stackpipe.rules import RulesError, load_rules

    rules = rules_with(tmp_path, rejected_content=value)
    with pytest.raises(RulesError, match="rejected_content"):
        load_rules(rules)
