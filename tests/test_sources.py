"""Sources: planning input URIs into units and reading units into RawFile / Rejected records."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import pickle
import random
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from stackpipe.records import Drop, RawFile, Rejected
from stackpipe.rules import ArchiveLimits, SourceRules
from stackpipe.sources import InputUnit, SourceError, decode_text, plan_inputs, read_unit
from stackpipe.sources.pylicense import classifier_license, license_field

RULES = SourceRules()
STDLIB = Path(sysconfig.get_paths()["stdlib"])
REAL_FILES = ["this.py", "json/__init__.py", "json/decoder.py", "json/encoder.py", "json/scanner.py", "json/tool.py"]


def read_all(units, rules=RULES):
    files, rejected = {}, []
    for unit in units:
        for item in read_unit(unit, rules):
            if isinstance(item, RawFile):
                files[(item.repo, item.path)] = item
            else:
                assert isinstance(item, Rejected) and item.stage == "read"
                rejected.append(item)
    return files, rejected


def reasons(rejected):
    return {(r.record.path, r.reason) for r in rejected}


def real_tree(root: Path) -> dict[str, bytes]:
    """Copy a few real standard-library files into `root`; return path -> bytes."""
    contents = {}
    for rel in REAL_FILES:
        data = (STDLIB / rel).read_bytes()
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        contents[rel] = data
    return contents


def archive_members(top: str | None = "repo-main") -> dict[str, bytes]:
    prefix = f"{top}/" if top else ""
    return {f"{prefix}{rel}": (STDLIB / rel).read_bytes() for rel in REAL_FILES}


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# --- repository directories ------------------------------------------------------------


def test_name_layout_reads_each_subdirectory_as_a_repository(tmp_path):
    expected = real_tree(tmp_path / "alpha")
    real_tree(tmp_path / "beta")
    (tmp_path / "alpha" / "__pycache__").mkdir()
    (tmp_path / "alpha" / "__pycache__" / "x.pyc").write_bytes(b"\x00compiled")
    units = plan_inputs([str(tmp_path)], RULES)
    assert [(u.kind, u.repo) for u in units] == [("repo_dir", "alpha"), ("repo_dir", "beta")]
    files, rejected = read_all(units)
    assert not rejected
    assert {path: f.data for (repo, path), f in files.items() if repo == "alpha"} == expected
    assert all(f.source == "github" for f in files.values())


def test_owner_name_layout_is_detected_when_top_directories_hold_only_directories(tmp_path):
    real_tree(tmp_path / "octo" / "one")
    real_tree(tmp_path / "octo" / "two")
    real_tree(tmp_path / "psf" / "three")
    (tmp_path / "psf" / ".DS_Store").write_bytes(b"ignored when detecting")
    units = plan_inputs([str(tmp_path)], RULES)
    assert [u.repo for u in units] == ["octo/one", "octo/two", "psf/three"]
    files, _ = read_all(units[:1])
    assert ("octo/one", "json/decoder.py") in files


def test_layout_can_be_forced_in_the_uri(tmp_path):
    real_tree(tmp_path / "octo" / "one")
    units = plan_inputs([f"{tmp_path}?layout=name"], RULES)
    assert [u.repo for u in units] == ["octo"]
    units = plan_inputs([f"{tmp_path / 'octo' / 'one'}?layout=repo"], RULES)
    assert [(u.repo, u.uri) for u in units] == [("one", str(tmp_path / "octo" / "one"))]
    with pytest.raises(SourceError, match="layout 'sideways'"):
        plan_inputs([f"{tmp_path}?layout=sideways"], RULES)


def test_directory_of_files_without_subdirectories_is_one_repository():
    units = plan_inputs([str(STDLIB / "json")], RULES)
    assert units == [InputUnit("repo_dir", str(STDLIB / "json"), repo="json")]
    files, rejected = read_all(units)
    assert not rejected and ("json", "decoder.py") in files
    assert not any("__pycache__" in path for _, path in files)


def test_symlink_is_rejected_not_followed(tmp_path):
    real_tree(tmp_path / "repo")
    (tmp_path / "repo" / "link.py").symlink_to("/etc/passwd")
    files, rejected = read_all(plan_inputs([str(tmp_path)], RULES))
    assert reasons(rejected) == {("link.py", "symlink")}
    assert "/etc/passwd" in rejected[0].record.meta["detail"]
    assert ("repo", "json/tool.py") in files


def test_file_above_max_file_bytes_is_too_large(tmp_path):
    real_tree(tmp_path / "repo")
    (tmp_path / "repo" / "big.py").write_bytes(b"x = 1\n" * 20_000)
    rules = dataclasses.replace(RULES, max_file_bytes=100_000)
    files, rejected = read_all(plan_inputs([str(tmp_path)], rules), rules)
    assert reasons(rejected) == {("big.py", "too_large")}
    assert rejected[0].record.size_bytes == 120_000
    assert "max_file_bytes 100,000" in rejected[0].record.meta["detail"]


def test_empty_file_is_rejected_as_empty(tmp_path):
    expected = real_tree(tmp_path / "repo")
    (tmp_path / "repo" / "empty.py").write_bytes(b"")
    files, rejected = read_all(plan_inputs([str(tmp_path)], RULES))
    assert {p for _, p in files} == set(expected)
    assert reasons(rejected) == {("empty.py", "empty")}
    assert rejected[0].record.size_bytes == 0 and "empty" in rejected[0].record.meta["detail"]


def test_empty_archive_members_are_rejected_as_empty(tmp_path):
    members = {**archive_members(), "repo-main/empty.py": b""}
    for path in (write_tar(tmp_path / "r.tar", members), write_zip(tmp_path / "r.zip", members)):
        files, rejected = read_all(plan_inputs([str(path)], RULES))
        assert {p for _, p in files} == set(REAL_FILES)
        assert reasons(rejected) == {("empty.py", "empty")}, path.name


def test_fifo_is_not_a_regular_file(tmp_path):
    real_tree(tmp_path / "repo")
    os.mkfifo(tmp_path / "repo" / "pipe")
    _, rejected = read_all(plan_inputs([str(tmp_path)], RULES))  # would hang if the fifo were opened
    assert reasons(rejected) == {("pipe", "not_regular_file")}
    assert "fifo" in rejected[0].record.meta["detail"]


# --- archives ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tgz", ".zip"])
def test_archive_is_one_repository_without_its_top_directory(tmp_path, suffix):
    path = tmp_path / f"requests-2.31{suffix}"
    members = archive_members()
    if suffix == ".zip":
        write_zip(path, members)
    else:
        write_tar(path, members, "w" if suffix == ".tar" else "w:gz")
    units = plan_inputs([str(path)], RULES)
    assert units == [InputUnit("archive", str(path), repo="requests-2.31")]
    files, rejected = read_all(units)
    assert not rejected
    assert {p: f.data for (_, p), f in files.items()} == {rel: (STDLIB / rel).read_bytes() for rel in REAL_FILES}


def test_archive_members_without_a_shared_top_directory_keep_their_paths(tmp_path):
    members = {**archive_members(None), "README": b"hello\n"}
    files, _ = read_all(plan_inputs([str(write_tar(tmp_path / "x.tar", members))], RULES))
    assert {p for _, p in files} == set(members)


def test_corrupt_tar_keeps_earlier_members_and_rejects_corrupt_input(tmp_path):
    raw = write_tar(tmp_path / "full.tar", archive_members()).read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(raw[: len(raw) // 2])
    files, rejected = read_all(plan_inputs([str(cut)], RULES))
    assert files  # the members before the damage
    assert [r.reason for r in rejected] == ["corrupt_input"]
    assert "cut.tar" in rejected[0].record.meta["detail"]


def test_garbage_tar_gz_is_corrupt_input(tmp_path):
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(gzip.compress(os.urandom(4096))[:-100])
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert not files and [r.reason for r in rejected] == ["corrupt_input"]


def test_zip_slip_and_absolute_members_are_unsafe_and_nothing_is_written(tmp_path):
    path = write_zip(tmp_path / "evil.zip", {"ok.py": b"x = 1\n", "../evil.py": b"boom\n", "/etc/evil.py": b"boom\n"})
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert set(files) == {("evil", "ok.py")}
    assert reasons(rejected) == {("../evil.py", "unsafe_path"), ("/etc/evil.py", "unsafe_path")}
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (tmp_path.parent / "evil.py").exists()


def test_tar_slip_member_is_unsafe(tmp_path):
    path = write_tar(tmp_path / "evil.tar", {"ok.py": b"x = 1\n", "../../evil.py": b"boom\n"})
    _, rejected = read_all(plan_inputs([str(path)], RULES))
    assert reasons(rejected) == {("../../evil.py", "unsafe_path")}


def test_zip_bomb_member_is_rejected_by_compression_ratio(tmp_path):
    path = write_zip(tmp_path / "bomb.zip", {"ok.py": b"x = 1\n", "bomb.txt": b"\x00" * 900_000})
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert set(files) == {("bomb", "ok.py")}
    assert reasons(rejected) == {("bomb.txt", "compression_ratio")}
    assert "max_compression_ratio 200" in rejected[0].record.meta["detail"]


def test_archive_members_past_max_members_are_one_archive_limit(tmp_path):
    rules = dataclasses.replace(RULES, archive=ArchiveLimits(max_members=3))
    members = {f"m{i}.py": b"x = 1\n" for i in range(6)}
    for path in (write_tar(tmp_path / "many.tar", members), write_zip(tmp_path / "many.zip", members)):
        files, rejected = read_all(plan_inputs([str(path)], rules), rules)
        assert len(files) == 3
        assert reasons(rejected) == {("m3.py", "archive_limit")}


def test_tar_gz_bomb_is_bounded_by_max_total_bytes(tmp_path):
    rules = dataclasses.replace(RULES, archive=ArchiveLimits(max_total_bytes=3_000_000))
    members = {"ok.py": b"x = 1\n", "zeros.bin": b"\x00" * 50_000_000}  # 50 MB of zeros: ~50 KB gzipped
    path = write_tar(tmp_path / "bomb.tar.gz", members, "w:gz")
    files, rejected = read_all(plan_inputs([str(path)], rules), rules)
    assert set(files) == {("bomb", "ok.py")}
    assert [r.reason for r in rejected] == ["too_large", "archive_limit"]  # header refused; skipping hit the bound


def test_tar_member_above_max_file_bytes_is_too_large_by_its_header(tmp_path):
    path = write_tar(tmp_path / "big.tar", {"big.py": b"x" * 20_000, "ok.py": b"x = 1\n"})
    rules = dataclasses.replace(RULES, max_file_bytes=10_000)
    files, rejected = read_all(plan_inputs([str(path)], rules), rules)
    assert set(files) == {("big", "ok.py")} and reasons(rejected) == {("big.py", "too_large")}


def test_tar_symlink_member_is_rejected(tmp_path):
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("link.py")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    _, rejected = read_all(plan_inputs([str(path)], RULES))
    assert reasons(rejected) == {("link.py", "symlink")}


# --- decoding ------------------------------------------------------------------------


def test_nul_bytes_decode_as_binary():
    assert decode_text(b"\x7fELF\x02\x01\x01\x00\x00\x00", 0.2) == Drop("binary", "NUL byte at offset 7")


def test_utf8_bom_is_stripped():
    assert decode_text("\ufeffprint('h\u00e9')\n".encode("utf-8"), 0.2) == ("print('h\u00e9')\n", "utf-8")


def test_invalid_utf8_falls_back_to_cp1252():
    text = "# Ce module g\u00e8re les donn\u00e9es de l'\u00e9l\u00e8ve, d\u00e9j\u00e0 trait\u00e9es.\nx = 'caf\u00e9'\n" * 5
    assert decode_text(text.encode("cp1252"), 0.2) == (text, "cp1252")


def test_cyrillic_legacy_charset_is_not_forced_to_cp1252():
    text = "# \u042d\u0442\u043e\u0442 \u043c\u043e\u0434\u0443\u043b\u044c \u0441\u043e\u0445\u0440\u0430\u043d\u044f\u0435\u0442 \u0434\u0430\u043d\u043d\u044b\u0435 \u0432 \u0431\u0430\u0437\u0435.\nname = 'x'\n" * 3
    assert decode_text(text.encode("cp1251"), 0.2) == (text, "cp1251")


def test_random_bytes_are_undecodable():
    data = random.Random(0).randbytes(4096).replace(b"\x00", b"\x01")
    decoded = decode_text(data, 0.2)
    assert isinstance(decoded, Drop) and decoded.reason == "undecodable"


# --- tables --------------------------------------------------------------------------

V1_ROW = {"content": "print('v1')\n", "max_stars_repo_name": "octo/alpha", "max_stars_repo_path": "a.py",
          "max_stars_repo_licenses": ["MIT", "Apache-2.0"], "max_stars_count": 7.0,
          "max_stars_repo_head_hexsha": "abc123", "lang": "Python"}
V2_ROW = {"content": "print('v2')\n", "repo_name": "octo/beta", "path": "src/b.py",
          "detected_licenses": ["BSD-3-Clause"], "license_type": "permissive", "star_events_count": 3,
          "revision_id": "def456", "revision_date": "2023-05-01T10:00:00", "language": "Python"}


def test_the_stack_v1_and_v2_column_names(tmp_path):
    pq.write_table(pa.Table.from_pylist([V1_ROW]), tmp_path / "v1.parquet")
    pq.write_table(pa.Table.from_pylist([V2_ROW]), tmp_path / "v2.parquet")
    files, rejected = read_all(plan_inputs([str(tmp_path / "v1.parquet"), str(tmp_path / "v2.parquet")], RULES))
    assert not rejected
    v1, v2 = files[("octo/alpha", "a.py")], files[("octo/beta", "src/b.py")]
    assert (v1.data, v1.license, v1.stars, v1.revision, v1.language_hint, v1.source) == (
        b"print('v1')\n", "MIT AND Apache-2.0", 7, "abc123", "Python", "stack")
    assert (v2.license, v2.license_type, v2.stars, v2.revision, v2.meta) == (
        "BSD-3-Clause", "permissive", 3, "def456", {"revision_date": "2023-05-01T10:00:00"})


def test_parquet_is_planned_one_unit_per_row_group(tmp_path):
    rows = [{**V2_ROW, "path": f"f{i}.py"} for i in range(10)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet", row_group_size=4)
    units = plan_inputs([str(tmp_path / "t.parquet")], RULES)
    assert [u.part for u in units] == [0, 1, 2]
    assert len(list(read_unit(units[1], RULES))) == 4
    files, _ = read_all(units)
    assert len(files) == 10
    assert pickle.loads(pickle.dumps(units[1])) == units[1]


def test_parquet_without_content_column_is_one_missing_column(tmp_path):
    pq.write_table(pa.Table.from_pylist([{"body": "x", "repo_name": "a/b"}] * 5), tmp_path / "t.parquet",
                   row_group_size=2)
    units = plan_inputs([str(tmp_path / "t.parquet")], RULES)
    files, rejected = read_all(units)
    assert not files and [r.reason for r in rejected] == ["missing_column"]
    detail = rejected[0].record.meta["detail"]
    assert "tried content, text" in detail and "columns present: body, repo_name" in detail


def test_table_row_above_max_file_bytes_is_too_large(tmp_path):
    rows = [{**V2_ROW, "path": "big.py", "content": "x = 1\n" * 200_000}, V2_ROW]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    files, rejected = read_all(plan_inputs([str(tmp_path / "t.parquet")], RULES))
    assert list(files) == [("octo/beta", "src/b.py")]
    assert [(r.record.repo, r.record.path, r.reason, r.record.size_bytes) for r in rejected] == [
        ("octo/beta", "big.py", "too_large", 1_200_000)]


def test_empty_table_row_is_rejected_as_empty(tmp_path):
    rows = [V2_ROW, {**V2_ROW, "path": "empty.py", "content": ""}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    for name in ("t.parquet", "t.jsonl"):
        files, rejected = read_all(plan_inputs([str(tmp_path / name)], RULES))
        assert list(files) == [("octo/beta", "src/b.py")]
        assert [(r.record.repo, r.record.path, r.reason) for r in rejected] == [("octo/beta", "empty.py", "empty")]


def test_truncated_jsonl_gz_keeps_rows_before_the_cut(tmp_path):
    rows = [json.dumps({**V2_ROW, "path": f"f{i}.py", "content": f"x = {i}\n" * 50}) for i in range(400)]
    data = gzip.compress("\n".join(rows).encode() + b"\n")
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert 0 < len(files) < 400
    assert all(("octo/beta", f"f{i}.py") in files for i in range(len(files)))
    assert [r.reason for r in rejected] == ["corrupt_input"]
    assert "truncated" in rejected[0].record.meta["detail"]


def test_truncated_jsonl_zst_is_corrupt_input(tmp_path):
    rows = [json.dumps({"content": os.urandom(100).hex(), "path": f"f{i}.py"}) for i in range(4000)]
    data = zstandard.ZstdCompressor().compress("\n".join(rows).encode())  # several 128 KiB blocks
    path = tmp_path / "t.jsonl.zst"
    path.write_bytes(data[: len(data) // 2])
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert 0 < len(files) < 4000 and [r.reason for r in rejected] == ["corrupt_input"]


def test_bad_jsonl_lines_are_malformed_rows(tmp_path):
    lines = [json.dumps(V2_ROW), "{not json", json.dumps({"path": "no-content.py"}), json.dumps([1, 2])]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    files, rejected = read_all(plan_inputs([str(path)], RULES))
    assert list(files) == [("octo/beta", "src/b.py")]
    assert [r.reason for r in rejected] == ["malformed_row"] * 3
    assert "line 2" in rejected[0].record.meta["detail"] and "not valid JSON" in rejected[0].record.meta["detail"]
    assert rejected[1].record.path == "no-content.py"


def test_directory_of_tables_is_a_data_directory(tmp_path):
    (tmp_path / "data" / "python").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([V2_ROW]), tmp_path / "data" / "python" / "train-0.parquet")
    (tmp_path / "data" / "python" / "train-1.jsonl").write_text(json.dumps(V1_ROW) + "\n")
    (tmp_path / "README.md").write_text("# dataset card\n")
    units = plan_inputs([str(tmp_path)], RULES)
    assert [(u.kind, Path(u.uri).name) for u in units] == [("parquet", "train-0.parquet"), ("jsonl", "train-1.jsonl")]


# --- python-env ----------------------------------------------------------------------


def test_python_env_plans_stdlib_and_distributions_with_licences():
    units = {u.repo: u for u in plan_inputs(["python-env://"], RULES)}
    assert units["python/cpython"].license == "PSF-2.0"
    assert units["pypi/pyarrow"].license == "Apache-2.0"
    assert units["pypi/pytest"].license == "MIT"
    assert {u.source for u in units.values()} == {"python_env"}
    assert [u.repo for u in plan_inputs(["python-env://stdlib"], RULES)] == ["python/cpython"]


def test_python_env_distribution_reads_its_record_files_and_licence_file():
    unit = next(u for u in plan_inputs(["python-env://site-packages"], RULES) if u.repo == "pypi/iniconfig")
    files, rejected = read_all([unit])
    paths = {p for _, p in files}
    assert {r.reason for r in rejected} <= {"empty"}  # py.typed: a 0-byte marker file
    assert "iniconfig/__init__.py" in paths
    assert any(p.split("/")[-1].upper().startswith("LICENSE") for p in paths)
    assert not any(p.endswith((".pyc", "RECORD", "INSTALLER", "WHEEL")) for p in paths)
    assert {f.license for f in files.values()} == {unit.license}


def test_licence_metadata_maps_to_spdx():
    assert license_field("Apache License, Version 2.0") == "Apache-2.0"
    assert license_field("Apache 2.0 License") == "Apache-2.0"
    assert license_field("The MIT Licence") == "MIT"
    assert license_field("BSD") == ""  # ambiguous: the classifiers decide
    assert license_field("MIT License\n\nPermission is hereby granted...") == ""
    assert classifier_license(["License :: OSI Approved :: MIT License",
                               "License :: OSI Approved :: Apache Software License"]) == "Apache-2.0 OR MIT"


# --- URIs ----------------------------------------------------------------------------


def test_uri_matching_nothing_is_a_source_error_naming_it(tmp_path):
    for uri in (str(tmp_path / "absent"), str(tmp_path / "*.parquet")):
        with pytest.raises(SourceError, match="absent|\\*\\.parquet"):
            plan_inputs([uri], RULES)


def test_units_are_deduplicated_and_sorted(tmp_path):
    for name in ("b", "a"):
        write_tar(tmp_path / f"{name}.tar", {"x.py": b"x = 1\n"})
    units = plan_inputs([str(tmp_path / "b.tar"), str(tmp_path / "*.tar")], RULES)
    assert [u.repo for u in units] == ["a", "b"]


# --- S3 ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_server, monkeypatch):
    import boto3

    for key, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket="corpus")
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="corpus"):
        for item in page.get("Contents", ()):
            client.delete_object(Bucket="corpus", Key=item["Key"])
    client.delete_bucket(Bucket="corpus")


def test_s3_parquet_table_is_read_by_row_group(bucket):
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist([{**V2_ROW, "path": f"f{i}.py"} for i in range(6)]), sink, row_group_size=3)
    bucket.put_object(Bucket="corpus", Key="stack/python/t.parquet", Body=sink.getvalue().to_pybytes())
    units = plan_inputs(["s3://corpus/stack/"], RULES)
    assert [(u.kind, u.uri, u.part) for u in units] == [("parquet", "s3://corpus/stack/python/t.parquet", p)
                                                        for p in (0, 1)]
    assert plan_inputs(["s3://corpus/stack/*/*.parquet"], RULES) == units
    files, rejected = read_all(units)
    assert not rejected and len(files) == 6


def test_s3_repository_directory_is_read(bucket):
    contents = {f"repos/octo/one/{rel}": (STDLIB / rel).read_bytes() for rel in REAL_FILES}
    contents["repos/octo/one/node_modules/skipped.js"] = b"skipped"
    for key, data in contents.items():
        bucket.put_object(Bucket="corpus", Key=key, Body=data)
    units = plan_inputs(["s3://corpus/repos"], RULES)
    assert [(u.kind, u.repo, u.uri) for u in units] == [("repo_dir", "octo/one", "s3://corpus/repos/octo/one")]
    files, rejected = read_all(units)
    assert not rejected
    assert {p: f.data for (_, p), f in files.items()} == {rel: (STDLIB / rel).read_bytes() for rel in REAL_FILES}
    with pytest.raises(SourceError, match="s3://corpus/nothing-here"):
        plan_inputs(["s3://corpus/nothing-here"], RULES)
