"""The data card: one self-contained HTML page (inline CSS and SVG, no network, no JS library).

`render(figures)` turns `collect()`'s dict into the page. Each plot is a `<figure>` with
an id and a caption, beside a table of the numbers it shows; a section whose part is not
in the run says so instead. A few lines of inline script, run after layout, mark each
figure `data-drawn="true"` when its SVG has a size and every data mark painted an area,
so a headless browser can check the page (tests/test_report.py does).
"""

from __future__ import annotations

from html import escape
from typing import Sequence

from stackpipe.report import plots

TOP_LANGUAGES = 15
TOP_EXPRESSIONS = 10

CSS = """
:root { --ink:#1f2933; --muted:#61707f; --line:#dde3ea; --ok:#2f7d4f; --bad:#b3261e; --accent:#3867a6; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif; color:var(--ink); background:#f5f7fa; }
header { background:#1f3a5f; color:#fff; padding:22px 40px 18px; }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; color:#c9d6e6; font-size:13px; }
main { padding:18px 40px 40px; max-width:1400px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px; margin:0 0 18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.card .value { font-size:22px; font-weight:bold; }
.card .label { color:var(--muted); font-size:12px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px 20px; margin:0 0 16px; }
section h2 { margin:0 0 4px; font-size:17px; }
section > p.note { margin:0 0 10px; color:var(--muted); font-size:12.5px; }
.row { display:flex; flex-wrap:wrap; gap:18px; align-items:flex-start; }
figure { margin:0; flex:0 1 auto; min-width:0; }
figure svg { max-width:100%; height:auto; }
figcaption { color:var(--muted); font-size:12px; margin-top:2px; }
table { border-collapse:collapse; font-size:12.5px; flex:0 1 auto; }
th, td { padding:3px 9px; border-bottom:1px solid var(--line); text-align:left; white-space:nowrap; }
th { color:var(--muted); font-weight:normal; border-bottom:1px solid #b8c2cc; }
td.n { text-align:right; font-variant-numeric:tabular-nums; }
td:not(.n) { white-space:normal; overflow-wrap:anywhere; max-width:36em; }
.ok { color:var(--ok); font-weight:bold; } .bad { color:var(--bad); font-weight:bold; }
.absent { color:var(--muted); font-style:italic; margin:4px 0; }
"""

CHECK_SCRIPT = """
(function () {
  for (const figure of document.querySelectorAll("figure.plot")) {
    const svg = figure.querySelector("svg");
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    const marks = svg ? Array.from(svg.querySelectorAll('[id^="' + figure.id + '-mark-"]')) : [];
    const painted = marks.filter(function (mark) {
      const b = mark.getBBox();
      return b.width > 0 && b.height > 0 && mark.querySelector("path") !== null;
    }).length;
    figure.dataset.marks = String(marks.length);
    figure.dataset.painted = String(painted);
    figure.dataset.drawn = String(box.width > 0 && box.height > 0 && marks.length > 0 && painted === marks.length);
  }
  document.body.dataset.checked = "true";
})();
"""


def _n(value) -> str:
    return "" if value is None else f"{value:,}"


def _mb(size: int) -> str:
    return f"{size / 1e6:,.2f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(figure_id: str, svg: str, caption: str) -> str:
    return (f'<figure class="plot" id="{figure_id}">{svg}'
            f'<figcaption id="{figure_id}-caption">{escape(caption)}</figcaption></figure>')


def _section(section_id: str, title: str, note: str, body: str) -> str:
    note_html = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>{note_html}{body}</section>'


def _absent(what: str) -> str:
    return f'<p class="absent">Not present in this run: {escape(what)}.</p>'


def _dirs(names: Sequence[str]) -> str:
    return ", ".join(f"{n}/" if n != "." else "the run directory" for n in names)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _status(ok: bool) -> str:
    return '<span class="ok">ok</span>' if ok else '<span class="bad">BROKEN</span>'


# --- sections ---------------------------------------------------------------------


def summary_cards(figures: dict) -> str:
    s = figures["summary"]
    cards = [("input files", _n(s["input_files"])), ("documents kept", _n(s["documents"])),
             ("files dropped", _n(s["dropped"])), ("languages", _n(s["languages"])),
             ("training tokens", _n(s["tokens"]) if s["tokens"] is not None else "—"),
             ("training rows", _n(s["rows"]) if s["rows"] is not None else "—"),
             ("conservation", _status(s["conservation"]))]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{value}</div><div class="label">{escape(label)}</div></div>'
        for label, value in cards) + "</div>"


def accounting(figures: dict) -> str:
    rows = []
    for entry in figures["stages"]:
        for stage in entry["stages"]:
            edited = ", ".join(f"{escape(k)} {v:,}" for k, v in stage["edited"].items())
            rows.append((escape(entry["dir"]), escape(stage["name"]), _n(stage["input"]), _n(stage["kept"]),
                         _n(sum(stage["dropped"].values())), edited, _status(entry["conservation"])))
    table = _table(("directory", "stage", "input", "kept", "dropped", "edited", "input = kept + dropped"),
                   rows, numeric=(2, 3, 4))
    drops = figures["drops"]
    if drops:
        several = len({d["dir"] for d in drops}) > 1
        stages = list(dict.fromkeys((d["dir"], d["stage"]) for d in drops))
        labels = [f"{d['dir'] + '/' if several else ''}{d['stage']} · {d['reason']}" for d in drops]
        colors = [plots.PALETTE[stages.index((d["dir"], d["stage"])) % len(plots.PALETTE)] for d in drops]
        svg = plots.bars("fig-drops", labels, [d["files"] for d in drops], colors=colors,
                         title="Files dropped, by stage and reason", xlabel="files")
        plot = _figure("fig-drops", svg, "Every reason a stage dropped files, in flow order; one colour per stage.")
    else:
        plot = '<p class="absent">No stage dropped anything.</p>'
    errors = [e for entry in figures["stages"] for e in entry["errors"]]
    error_html = "".join(f'<p class="bad">{escape(e)}</p>' for e in errors)
    note = "Each stage keeps, edits or drops every record; input = kept + Σ dropped must hold for every stage."
    return _section("accounting", "Drops per stage and reason", note,
                    f'<div class="row">{plot}{table}</div>{error_html}')


def languages(figures: dict) -> str:
    data = figures["languages"]
    if data is None:
        return _section("languages", "Files and tokens per language", "", _absent("no stage statistics"))
    rows = data["rows"]
    names = list(rows)[:TOP_LANGUAGES]
    if len(rows) > TOP_LANGUAGES:
        rest = list(rows)[TOP_LANGUAGES:]
        other = {k: sum(rows[n][k] for n in rest) for k in ("files", "bytes", "rows", "tokens")}
        rows = {**{n: rows[n] for n in names}, f"{len(rest)} others": other}
        names = list(rows)
    has_tokens = bool(data["tokens_from"])
    if has_tokens:
        svg = plots.paired_bars("fig-languages", names, ("Files", [rows[n]["files"] for n in names]),
                                ("Tokens", [rows[n]["tokens"] for n in names]), xlabel=("files", "tokens"))
    else:
        svg = plots.bars("fig-languages", names, [rows[n]["files"] for n in names], title="Files",
                         xlabel="files")
    caption = (f"Files kept per language (from {_dirs(data['files_from'])})"
               + (f" and training tokens (from {_dirs(data['tokens_from'])})." if has_tokens else "."))
    table = _table(("language", "files", "MB", "rows", "tokens"),
                   [(escape(n), _n(rows[n]["files"]), _mb(rows[n]["bytes"]),
                     _n(rows[n]["rows"]) if has_tokens else "—", _n(rows[n]["tokens"]) if has_tokens else "—")
                    for n in names], numeric=(1, 2, 3, 4))
    note = "" if has_tokens else "No shard manifest in this run: token counts are not present."
    return _section("languages", "Files and tokens per language", note,
                    f'<div class="row">{_figure("fig-languages", svg, caption)}{table}</div>')


def _length_part(figure_id: str, data: dict | None, what: str, unit: str, caption: str) -> tuple[str, list]:
    if data is None:
        return _absent(what), []
    svg = plots.histogram(figure_id, data["edges"], data["counts"], title=f"{what.capitalize()}", xlabel=unit)
    q = data["quantiles"]
    row = (escape(what), _n(data["count"]), f"{data['mean']:,.0f}", _n(data["min"]), f"≈{q['p50']:,}",
           f"≈{q['p90']:,}", f"≈{q['p99']:,}", _n(data["max"]))
    return _figure(figure_id, svg, caption), [row]


def lengths(figures: dict) -> str:
    data = figures["lengths"]
    if data is None:
        return _section("lengths", "Length distributions", "", _absent("no documents or shards"))
    docs, doc_rows = _length_part("fig-doc-lengths", data["documents"], "document sizes", "bytes (powers of two bins, K = 1024)",
                                  f"Kept documents' size_bytes (from {_dirs(data['documents_from'])}).")
    toks, tok_rows = _length_part("fig-row-tokens", data["tokens"], "shard row lengths", "tokens (powers of two bins, K = 1024)",
                                  f"Tokens per training row (num_tokens, from {_dirs(data['tokens_from'])}).")
    table = _table(("", "count", "mean", "min", "p50", "p90", "p99", "max"), doc_rows + tok_rows,
                   numeric=(1, 2, 3, 4, 5, 6, 7))
    note = "Read from the Parquet columns only. Percentiles are read off 1/8-octave bins (within 9%)."
    return _section("lengths", "Length distributions", note,
                    f'<div class="row">{docs}{toks}</div><div class="row">{table}</div>')


def licenses(figures: dict) -> str:
    data = figures["licenses"]
    if data is None:
        return _section("licenses", "License mix", "", _absent("no documents or license stage"))
    expressions = list(data["expressions"].items())[:TOP_EXPRESSIONS]
    body = ""
    if data["types"]:
        labels = [f"type: {k}" for k in data["types"]] + [k for k, _ in expressions]
        values = list(data["types"].values()) + [v for _, v in expressions]
        colors = [plots.PALETTE[2]] * len(data["types"]) + [plots.PALETTE[0]] * len(expressions)
        svg = plots.bars("fig-licenses", labels, values, colors=colors, title="Kept files by license",
                         xlabel="files")
        body += _figure("fig-licenses", svg, f"License type (green) and SPDX expression (blue) of the kept "
                                            f"documents in {_dirs(data['from'])}.")
    rows = [(f"type: {escape(k)}", _n(v)) for k, v in data["types"].items()]
    rows += [(escape(k), _n(v)) for k, v in expressions]
    rows += [(f"dropped: {escape(k)}", _n(v)) for k, v in data["dropped"].items()]
    return _section("licenses", "License mix", "", f'<div class="row">{body}{_table(("license", "files"), rows, (1,))}</div>')


def pii(figures: dict) -> str:
    data = figures["pii"]
    if data is None:
        return _section("pii", "PII", "", _absent("no pii stage"))
    entities = data["entities"]
    note = (f"Counts only: values are replaced in the documents and never recorded. "
            f"{_plural(data['files_scanned'], 'file')} scanned in {_dirs(data['from'])}.")
    table = _table(("entity", "values redacted", "files dropped"),
                   [(escape(k), _n(v["redacted"]), _n(v["dropped"])) for k, v in entities.items()], (1, 2))
    if not entities:
        return _section("pii", "PII", note, '<p class="absent">The pii stage found nothing to redact.</p>')
    svg = plots.grouped_bars("fig-pii", list(entities), [("values redacted", [v["redacted"] for v in entities.values()]),
                                                         ("files dropped", [v["dropped"] for v in entities.values()])],
                             title="PII per entity type", xlabel="count")
    return _section("pii", "PII", note,
                    f'<div class="row">{_figure("fig-pii", svg, "Values redacted and files dropped per entity type.")}'
                    f"{table}</div>")


def dedup(figures: dict) -> str:
    data = figures["clusters"]
    if data is None:
        return _section("dedup", "Near-duplicate clusters", "", _absent("no clusters/ of a dedup stage"))
    sizes = data["sizes"]
    svg = plots.columns("fig-clusters", [str(s) for s in sizes], list(sizes.values()),
                        title="Clusters by size", xlabel="units in the cluster (representative + duplicates)")
    table = _table(("", "count"), [("clusters", _n(data["clusters"])), ("units in clusters", _n(data["units"])),
                                   ("kept (representatives)", _n(data["kept"])),
                                   ("dropped (near duplicates)", _n(data["dropped"])),
                                   ("largest cluster", _n(data["largest"]))], (1,))
    caption = f"Near-duplicate clusters of MinHash-LSH dedup (from {_dirs(data['from'])})."
    return _section("dedup", "Near-duplicate clusters", "",
                    f'<div class="row">{_figure("fig-clusters", svg, caption)}{table}</div>')


def decontam(figures: dict) -> str:
    data = figures["decontam"]
    if data is None:
        return _section("decontam", "Benchmark decontamination", "", _absent("no decontam_report.json"))
    benchmarks = data["benchmarks"]
    note = f"{_plural(data['files'], 'file')} dropped for benchmark overlap (reports in {_dirs(data['from'])})."
    rows = [(escape(b), _n(v["files"]), _n(v["problems"]),
             escape(", ".join(f"{p} ({n})" for p, n in v["top"]))) for b, v in benchmarks.items()]
    table = _table(("benchmark", "files", "problems hit", "most hit"), rows, (1, 2))
    if not benchmarks:
        return _section("decontam", "Benchmark decontamination", note,
                        '<p class="absent">No file matched a benchmark.</p>')
    svg = plots.bars("fig-decontam", list(benchmarks), [v["files"] for v in benchmarks.values()],
                     colors=plots.PALETTE[3], title="Files hitting each benchmark", xlabel="files")
    caption = "A file can hit several benchmarks (HumanEval-X holds HumanEval's problems)."
    return _section("decontam", "Benchmark decontamination", note,
                    f'<div class="row">{_figure("fig-decontam", svg, caption)}{table}</div>')


def shards(figures: dict) -> str:
    data = figures["shards"]
    if data is None:
        return _section("shards", "Training shards", "", _absent("no shard manifest.json"))
    sets = data["sets"]
    rows = [(escape(s["dir"]), escape(s["family"]), _n(s["vocab_size"]), _n(s["max_tokens"]), _n(s["seed"]),
             _n(s["documents"]), _n(s["rows"]), _n(s["tokens"]), _n(s["shards"]),
             escape(", ".join(f"{k} {v['tokens']:,}" for k, v in s["sources"].items())))
            for s in sets]
    table = _table(("directory", "family", "vocab", "max tokens", "seed", "documents", "rows", "tokens", "shards",
                    "tokens per source"), rows, (2, 3, 4, 5, 6, 7, 8))
    modes: dict[str, int] = {}
    for s in sets:
        for mode, count in s["fim"].items():
            modes[mode] = modes.get(mode, 0) + count
    body = table
    if any(modes.values()):
        svg = plots.columns("fig-fim", list(modes), list(modes.values()), title="Rows by FIM mode",
                            xlabel="fill-in-the-middle mode", color=plots.PALETTE[4])
        body = f'<div class="row">{_figure("fig-fim", svg, "none: plain next-token rows; psm/spm: FIM orders.")}</div>{table}'
    return _section("shards", "Training shards", "", body)


def render(figures: dict) -> str:
    """The whole page for `collect()`'s dict."""
    found = figures["found"]
    parts = "; ".join(f"{kind}: {', '.join(dirs) or 'none'}" for kind, dirs in found.items())
    body = "".join((summary_cards(figures), accounting(figures), languages(figures), lengths(figures),
                    licenses(figures), pii(figures), dedup(figures), decontam(figures), shards(figures)))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>stackpipe data card: {escape(figures['run'])}</title><style>{CSS}</style></head>"
        f"<body><header><h1>stackpipe data card</h1><p>run {escape(figures['run'])}</p>"
        f"<p>found {escape(parts)}</p></header><main>{body}</main>"
        f"<script>{CHECK_SCRIPT}</script></body></html>\n"
    )
