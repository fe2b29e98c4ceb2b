"""The pii stage inside `stackpipe curate`: values replaced in documents, only counts in stats."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq

from pipelines import curate

STDLIB = Path(sysconfig.get_paths()["stdlib"])
EMAIL = "maria.gonzalez@fastmail.org"
AWS_KEY_ID = "AKIAQ7T2MXPLR4VZK3WN"


def test_pii_is_redacted_and_only_counted_in_stats(tmp_path):
    repo = tmp_path / "dump" / "acme" / "tool"
    repo.mkdir(parents=True)
    code = (STDLIB / "colorsys.py").read_text()
    planted = f'# Maintainer: {EMAIL}\nAWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n' + code
    (repo / "tool.py").write_text(planted)
    stats = curate.run(["--input", str(tmp_path / "dump"), "--output", str(tmp_path / "out"), "--no-progress"])
    [row] = pq.read_table(next((tmp_path / "out" / "documents").glob("*.parquet"))).to_pylist()
    assert row["content"].startswith('# Maintainer: <EMAIL>\nAWS_ACCESS_KEY_ID = "<KEY>"\n')
    assert row["content"].endswith(code)  # nothing else moved
    assert json.loads(row["meta"])["pii_email"] == "1"
    assert stats["stages"]["pii"]["edited"] == {"pii_email": 1, "pii_key": 1}
    stats_text = (tmp_path / "out" / "stats.json").read_text()
    assert EMAIL not in stats_text and AWS_KEY_ID not in stats_text


def test_identical_files_with_the_same_public_ip_are_exact_duplicates_after_redaction(tmp_path):
    """Redaction must not make two copies of one file differ (replacements keyed by the file)."""
    code = 'SERVER = "52.14.200.7"\n' + (STDLIB / "colorsys.py").read_text()
    for repo in ("one/tool", "two/fork"):
        (tmp_path / "dump" / repo).mkdir(parents=True)
        (tmp_path / "dump" / repo / "tool.py").write_text(code)
    stats = curate.run(["--input", str(tmp_path / "dump" / "one"), str(tmp_path / "dump" / "two"),
                        "--output", str(tmp_path / "out"), "--no-progress"])
    assert stats["stages"]["pii"]["edited"] == {"pii_ip_address": 2}
    assert stats["stages"]["exact_dedup"]["dropped"] == {"exact_duplicate": 1}
    [row] = pq.read_table(tmp_path / "out" / "documents").to_pylist()
    assert "52.14.200.7" not in row["content"]
