"""`stackpipe curate` end to end on real code from this machine, bad input mixed in."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import curate
from stackpipe.records import FILE_SCHEMA, REJECTED_SCHEMA

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def copy_package(source: Path, target: Path, limit: int) -> None:
    """Copy up to `limit` files of a real package directory, keeping relative paths."""
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)[:limit]
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A dump of a few hundred real files in both repository layouts, plus bad input."""
    root = tmp_path_factory.mktemp("dump")
    repos = root / "repos"
    copy_package(STDLIB / "json", repos / "python" / "json", 50)
    copy_package(STDLIB / "email", repos / "python" / "email", 120)
    copy_package(STDLIB / "asyncio", repos / "python" / "asyncio", 80)
    import yaml

    copy_package(Path(yaml.__file__).parent, repos / "yaml" / "pyyaml", 60)
    bad = repos / "python" / "email"
    (bad / "blob.py").write_bytes(b"\x00\x01binary\x00" * 50)
    (bad / "latin1.py").write_bytes("# café au lait, naïve résumé\nname = 'Zoë'\n".encode("latin-1"))
    (bad / "link.py").symlink_to(bad / "__init__.py")
    shutil.copyfile(STDLIB / "json" / "decoder.py", repos / "yaml" / "pyyaml" / "vendored_decoder.py")

    archives = root / "archives"
    archives.mkdir()
    (archives / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00not really a tarball")
    with zipfile.ZipFile(archives / "slip.zip", "w") as archive:
        archive.writestr("../../evil.py", "print('escaped')\n")
        archive.writestr("ok/textwrap.py", (STDLIB / "textwrap.py").read_text())
    with tarfile.open(archives / "shlex.tar.gz", "w:gz") as archive:
        archive.add(STDLIB / "shlex.py", arcname="shlex-main/shlex.py")

    tables = root / "tables"
    tables.mkdir()
    rows = [{"repo_name": "t/ok", "path": f"m{i}.py", "content": (STDLIB / "colorsys.py").read_text() + f"\n# {i}\n"}
            for i in range(5)]
    payload = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    (tables / "truncated.jsonl.gz").write_bytes(payload[: len(payload) * 2 // 3])
    pq.write_table(pa.table({"repo_name": ["t/x"], "path": ["a.py"], "body": ["x = 1\n"]}),
                   tables / "no_content.parquet")
    return root


def inputs(corpus: Path) -> list[str]:
    return [str(corpus / "repos"), str(corpus / "archives" / "*"), str(corpus / "tables" / "*")]


def run_curate(corpus: Path, output: Path, *extra: str) -> dict:
    return curate.run(["--input", *inputs(corpus), "--output", str(output), "--no-progress", *extra])


@pytest.fixture(scope="module")
def in_process(corpus, tmp_path_factory):
    output = tmp_path_factory.mktemp("in_process")
    return output, run_curate(corpus, output)


def read_parts(directory: Path, schema: pa.Schema) -> pa.Table:
    return pq.read_table(sorted(map(str, directory.glob("part-*.parquet"))), schema=schema)


def test_every_stage_conserves_its_input(in_process):
    _, stats = in_process
    assert stats["conservation"] is True
    for name, stage in stats["stages"].items():
        assert stage["input"] == stage["kept"] + sum(stage["dropped"].values()), name
    assert stats["documents"] >= 80  # json, email, asyncio, yaml and the archive members


def test_stages_chain_kept_into_next_input(in_process):
    _, stats = in_process
    stages = list(stats["stages"].values())
    for before, after in zip(stages, stages[1:]):
        assert before["kept"] == after["input"]


def test_outputs_load_with_pyarrow_and_datasets(in_process):
    output, stats = in_process
    documents = read_parts(output / "documents", FILE_SCHEMA)
    rejected = read_parts(output / "rejected", REJECTED_SCHEMA)
    assert documents.num_rows == stats["documents"]
    assert rejected.num_rows == stats["rejected"]
    import datasets

    loaded = datasets.load_dataset("parquet", data_files=str(output / "documents" / "*.parquet"), split="train")
    assert loaded.num_rows == documents.num_rows
    assert set(loaded.column_names) == set(FILE_SCHEMA.names)


def test_bad_input_is_rejected_with_reasons_and_the_rest_still_read(in_process):
    output, _ = in_process
    rejected = read_parts(output / "rejected", REJECTED_SCHEMA).to_pylist()
    reasons = {(row["path"].rsplit("/", 1)[-1], row["reason"]) for row in rejected}
    assert ("blob.py", "binary") in reasons
    assert ("link.py", "symlink") in reasons
    assert any(reason == "unsafe_path" for _, reason in reasons)
    assert any(reason == "corrupt_input" and "broken" in path for path, reason in reasons)
    assert any(reason == "corrupt_input" and "truncated" in path for path, reason in reasons)
    assert any(reason == "missing_column" for _, reason in reasons)
    duplicates = [row for row in rejected if row["reason"] == "exact_duplicate"]
    assert duplicates and all(json.loads(row["meta"])["duplicate_of"] for row in duplicates)
    paths = set(read_parts(output / "documents", FILE_SCHEMA).column("path").to_pylist())
    assert any(p.endswith("textwrap.py") for p in paths)  # the zip's safe member
    assert any(p.endswith("shlex.py") for p in paths)  # the good archive
    assert any(p.endswith("latin1.py") for p in paths)  # decoded by charset detection


def test_nothing_escaped_the_temp_dirs(corpus):
    assert not (corpus / "evil.py").exists() and not (corpus.parent / "evil.py").exists()


def test_languages_are_tagged(in_process):
    output, stats = in_process
    assert stats["languages"]["Python"]["files"] >= 80
    languages = set(read_parts(output / "documents", FILE_SCHEMA).column("language").to_pylist())
    assert "" not in languages


def test_two_workers_give_identical_shards(corpus, in_process, tmp_path):
    output, _ = in_process
    run_curate(corpus, tmp_path, "--workers", "2")
    for kind in ("documents", "rejected"):
        ours = sorted(p.name for p in (tmp_path / kind).glob("*.parquet"))
        assert ours == sorted(p.name for p in (output / kind).glob("*.parquet"))
        for name in ours:
            assert (tmp_path / kind / name).read_bytes() == (output / kind / name).read_bytes(), name


def test_portable_runner_gives_identical_documents(corpus, in_process, tmp_path):
    output, _ = in_process
    run_curate(corpus, tmp_path, "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK")
    for path in (output / "documents").glob("*.parquet"):
        assert (tmp_path / "documents" / path.name).read_bytes() == path.read_bytes()


def test_cli_reports_a_misspelt_rules_key(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(Path(curate.__file__).resolve().parent.parent / "rules", rules)
    text = (rules / "quality.yaml").read_text().replace("min_alphanum_fraction", "min_alnum_fraction")
    (rules / "quality.yaml").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "stackpipe.cli", "curate", "--input", str(STDLIB / "json"),
         "--output", str(tmp_path / "out"), "--rules", str(rules)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "quality.yaml" in result.stderr and "min_alnum_fraction" in result.stderr


def test_cli_names_an_input_that_matches_nothing(tmp_path):
    missing = str(tmp_path / "nowhere" / "*.parquet")
    result = subprocess.run(
        [sys.executable, "-m", "stackpipe.cli", "curate", "--input", missing, "--output", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and missing in result.stderr
