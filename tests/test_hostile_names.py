"""Names that are not valid UTF-8 (a file, directory, repository or archive member named
with raw bytes) are refused as `undecodable_path` under an escaped name; the rest is read."""

from __future__ import annotations

import io
import json
import os
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stackpipe.records import REJECTED_SCHEMA, RawFile, Rejected, record_id
from stackpipe.rules import SourceRules
from stackpipe.sources import plan_inputs, read_unit

RULES = SourceRules()
STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = ["json/__init__.py", "json/decoder.py"]


def read_all(uris: list[str]) -> tuple[dict[tuple[str, str], RawFile], list[Rejected]]:
    files, rejected = {}, []
    for unit in plan_inputs(uris, RULES):
        for item in read_unit(unit, RULES):
            if isinstance(item, RawFile):
                files[(item.repo, item.path)] = item
            else:
                rejected.append(item)
    return files, rejected


def write_raw(path: bytes, data: bytes) -> None:
    """A file named by raw bytes, whatever they decode to."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def real_repo(root: Path) -> set[str]:
    for rel in REAL_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes((STDLIB / rel).read_bytes())
    return set(REAL_FILES)


def undecodable(rejected: list[Rejected]) -> list[tuple[str, str]]:
    """(repo, path) of the undecodable_path records, each checked to be writable as UTF-8."""
    found = []
    for item in rejected:
        if item.reason == "undecodable_path":
            assert item.stage == "read"
            item.record.repo.encode("utf-8"), item.record.path.encode("utf-8"), item.record.meta["detail"].encode()
            found.append((item.record.repo, item.record.path))
    return found


def test_file_named_with_invalid_utf8_is_undecodable_path_and_the_rest_is_read(tmp_path):
    expected = real_repo(tmp_path / "repo")
    write_raw(os.fsencode(tmp_path / "repo") + b"/caf\xe9.py", b"x = 1\n")
    files, rejected = read_all([f"{tmp_path / 'repo'}?layout=repo"])
    assert {path for _, path in files} == expected
    assert undecodable(rejected) == [("repo", "caf\\xe9.py")]
    assert "'caf\\xe9.py'" in rejected[0].record.meta["detail"]
    assert rejected[0].record.size_bytes == 6


def test_undecodable_directory_component_refuses_each_file_below_it(tmp_path):
    expected = real_repo(tmp_path / "repo")
    write_raw(os.fsencode(tmp_path / "repo") + b"/d\xff\xfe/a.py", b"a = 1\n")
    write_raw(os.fsencode(tmp_path / "repo") + b"/d\xff\xfe/b.py", b"b = 1\n")
    files, rejected = read_all([f"{tmp_path / 'repo'}?layout=repo"])
    assert {path for _, path in files} == expected
    assert undecodable(rejected) == [("repo", "d\\xff\\xfe/a.py"), ("repo", "d\\xff\\xfe/b.py")]


def test_repository_directory_with_undecodable_name_is_refused_and_other_repositories_read(tmp_path):
    expected = real_repo(tmp_path / "repos" / "good")
    write_raw(os.fsencode(tmp_path / "repos") + b"/caf\xe9/main.py", b"print('hi')\n")
    files, rejected = read_all([str(tmp_path / "repos")])
    assert set(files) == {("good", path) for path in expected}
    assert undecodable(rejected) == [("caf\\xe9", "main.py")]
    assert "repository name 'caf\\xe9'" in rejected[0].record.meta["detail"]


def test_tar_member_with_undecodable_name_is_refused_and_the_rest_read(tmp_path):
    path = tmp_path / "proj.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("proj-main/caf\udce9.py", b"x = 1\n"), ("proj-main/ok.py", b"y = 2\n")):
            info = tarfile.TarInfo(name)  # written as the raw bytes b"caf\xe9.py"
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    files, rejected = read_all([str(path)])
    assert set(files) == {("proj", "ok.py")}
    assert undecodable(rejected) == [("proj", "caf\\xe9.py")]


def test_zip_member_flagged_utf8_but_not_utf8_is_refused_and_the_rest_read(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("proj-main/ok.py", "y = 2\n")
        archive.writestr("proj-main/caf\u00e9.py", "x = 1\n")  # non-ASCII: zipfile sets the UTF-8 flag
        archive.writestr("proj-main/z.py", "z = 3\n")
    data = buffer.getvalue().replace(b"caf\xc3\xa9.py", b"caf\xe9\xe9.py")  # same length, not UTF-8
    path = tmp_path / "proj.zip"
    path.write_bytes(data)
    with pytest.raises(UnicodeDecodeError):  # how zipfile itself meets such an archive
        zipfile.ZipFile(path)
    files, rejected = read_all([str(path)])
    assert set(files) == {("proj", "ok.py"), ("proj", "z.py")}
    assert files[("proj", "z.py")].data == b"z = 3\n"
    assert undecodable(rejected) == [("proj", "caf\\xe9\\xe9.py")]
    assert len(rejected) == 1


def test_undecodable_name_keeps_the_stable_id_of_the_name_as_found(tmp_path):
    real_repo(tmp_path / "repo")
    write_raw(os.fsencode(tmp_path / "repo") + b"/caf\xe9.py", b"x = 1\n")
    (tmp_path / "repo" / "caf\\xe9.py").write_bytes(b"x = 1\n")  # a valid name spelling the escaped form
    files, rejected = read_all([f"{tmp_path / 'repo'}?layout=repo"])
    [refused] = [r for r in rejected if r.reason == "undecodable_path"]
    assert refused.record.id == record_id("github", "repo", "caf\udce9.py")
    assert refused.record.id != files[("repo", "caf\\xe9.py")].id


def test_jsonl_row_whose_path_holds_a_lone_surrogate_is_undecodable_path(tmp_path):
    rows = [{"repo_name": "o/r", "path": "caf\udce9.py", "content": "x = 1\n"},
            {"repo_name": "o/r", "path": "ok.py", "content": "y = 2\n"}]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))  # json escapes it as "\udce9"
    files, rejected = read_all([str(path)])
    assert set(files) == {("o/r", "ok.py")}
    assert undecodable(rejected) == [("o/r", "caf\\xe9.py")]


def test_parquet_path_cell_with_invalid_utf8_is_undecodable_path(tmp_path):
    raw = pa.array([b"caf\xe9.py", b"ok.py"], pa.binary())
    paths = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())  # a string column holding invalid UTF-8
    pq.write_table(pa.table({"repo_name": ["o/r", "o/r"], "path": paths, "content": ["x = 1\n", "y = 2\n"]}),
                   tmp_path / "t.parquet")
    files, rejected = read_all([str(tmp_path / "t.parquet")])
    assert set(files) == {("o/r", "ok.py")}
    assert undecodable(rejected) == [("o/r", "caf\\xe9.py")]


def test_undecodable_name_escapes_only_names_that_are_not_valid_text():
    from stackpipe.sources.units import undecodable_name

    assert undecodable_name("src/caf\u00e9.py") is None
    assert undecodable_name("caf\udce9.py") == "caf\\xe9.py"
    assert undecodable_name("a\\b\udcff\ud800") == "a\\\\b\\xff\\ud800"


def test_curate_completes_and_writes_the_undecodable_name_as_a_rejected_record(tmp_path):
    from pipelines import curate

    real_repo(tmp_path / "repos" / "good")
    write_raw(os.fsencode(tmp_path / "repos" / "good") + b"/caf\xe9.py", b"x = 1\n")
    output = tmp_path / "out"
    stats = curate.run(["--input", str(tmp_path / "repos"), "--output", str(output), "--no-progress"])
    read = stats["stages"]["read"]
    assert read["input"] == read["kept"] + sum(read["dropped"].values())
    assert read["dropped"].get("undecodable_path") == 1 and read["kept"] == len(REAL_FILES)
    rejected = pq.read_table(sorted(map(str, (output / "rejected").glob("*.parquet"))),
                             schema=REJECTED_SCHEMA).to_pylist()
    [row] = [row for row in rejected if row["reason"] == "undecodable_path"]
    assert (row["stage"], row["repo"], row["path"]) == ("read", "good", "caf\\xe9.py")
    assert "caf\\xe9.py" in json.loads(row["meta"])["detail"]
    documents = pq.read_table(sorted(map(str, (output / "documents").glob("*.parquet")))).column("path").to_pylist()
    assert "json/decoder.py" in documents
