"""The data card's plots: matplotlib figures rendered to inline SVG strings.

Deterministic (a fixed `svg.hashsalt` per figure, no date in the metadata), and text is
left as SVG `<text>` so the page stays small and its labels selectable. Every data mark
(bar, histogram bin) carries the id `<figure id>-mark-<n>`, so the page's check script
and the tests can find what was drawn.
"""

from __future__ import annotations

import io
import math
import re
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

PALETTE = ("#3867a6", "#e07b39", "#4f9a6a", "#b64a5c", "#7b61a8", "#8a8a8a", "#c9a227", "#3c9bb0")
STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#777777",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.axisbelow": True,
}
WIDTH = 6.2  # inches: one plot beside its table
HALF_WIDTH = 5.2  # inches: two plots side by side
BAR_INCHES = 0.26
MAX_LABEL_CHARS = 48
MAX_TICK_LABELS = 12


def _svg(figure: Figure, figure_id: str) -> str:
    """The figure as an `<svg>` element (no XML prolog), ids salted by `figure_id`."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"stackpipe-report-{figure_id}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)  # tool credits, no figure content
    return text[text.index("<svg"):].replace("<svg ", f'<svg role="img" aria-labelledby="{figure_id}-caption" ', 1)


def _mark(artists, figure_id: str, start: int = 0) -> int:
    for index, artist in enumerate(artists, start):
        artist.set_gid(f"{figure_id}-mark-{index}")
    return start + len(artists)


def _figure(height: float, columns: int = 1, width: float = WIDTH) -> tuple[Figure, list]:
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height))
        axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, list(axes)


def _barh(ax, labels: Sequence[str], values: Sequence[float], figure_id: str, start: int, *,
          colors, title: str, xlabel: str, log: bool = False, ticks: int = 6) -> int:
    positions = np.arange(len(labels))
    with matplotlib.rc_context(STYLE):
        bars = ax.barh(positions, values, color=colors, height=0.7)
        ax.set_yticks(positions, [_clip(label) for label in labels])
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        if log and max(values, default=0) > 0:
            ax.set_xscale("log")
        else:
            _count_axis(ax.xaxis, ticks)
        ax.bar_label(bars, labels=[_short(v) for v in values], padding=3, fontsize=8, color="#444444")
        ax.margins(x=0.18)
    return _mark([bar for bar, value in zip(bars.patches, values) if value], figure_id, start)


def bars(figure_id: str, labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str,
         colors: Sequence[str] | str = PALETTE[0], log: bool = False) -> str:
    """One horizontal bar per label, largest count first as given."""
    figure, (ax,) = _figure(0.9 + BAR_INCHES * len(labels))
    _barh(ax, labels, values, figure_id, 0, colors=colors, title=title, xlabel=xlabel, log=log)
    return _svg(figure, figure_id)


def paired_bars(figure_id: str, labels: Sequence[str], left: tuple[str, Sequence[float]],
                right: tuple[str, Sequence[float]], *, xlabel: tuple[str, str]) -> str:
    """Two bar charts sharing their labels (e.g. files and tokens per language)."""
    figure, (a, b) = _figure(0.9 + BAR_INCHES * len(labels), columns=2)
    start = _barh(a, labels, left[1], figure_id, 0, colors=PALETTE[0], title=left[0], xlabel=xlabel[0], ticks=3)
    _barh(b, labels, right[1], figure_id, start, colors=PALETTE[1], title=right[0], xlabel=xlabel[1], ticks=3)
    with matplotlib.rc_context(STYLE):
        b.set_yticks(range(len(labels)), [""] * len(labels))
        figure.subplots_adjust(wspace=0.08)
    return _svg(figure, figure_id)


def grouped_bars(figure_id: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
                 title: str, xlabel: str) -> str:
    """Horizontal bars, one colour per series, grouped per label (zero bars are left out)."""
    series = [(name, values) for name, values in series if any(values)]
    figure, (ax,) = _figure(1.1 + BAR_INCHES * len(labels) * max(1, len(series)) * 0.8)
    height = 0.8 / len(series)
    start = 0
    with matplotlib.rc_context(STYLE):
        for index, (name, values) in enumerate(series):
            positions = np.arange(len(labels)) + (index - (len(series) - 1) / 2) * height
            shown = [(p, v) for p, v in zip(positions, values) if v]
            bars_ = ax.barh([p for p, _ in shown], [v for _, v in shown], height=height * 0.92,
                            color=PALETTE[index % len(PALETTE)], label=name)
            ax.bar_label(bars_, labels=[_short(v) for _, v in shown], padding=3, fontsize=8, color="#444444")
            start = _mark(bars_.patches, figure_id, start)
        ax.set_yticks(np.arange(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.18)
        _count_axis(ax.xaxis)
        ax.legend(frameon=False, loc="lower right")
    return _svg(figure, figure_id)


def histogram(figure_id: str, edges: Sequence[int], counts: Sequence[int], *, title: str, xlabel: str,
              color: str = PALETTE[0]) -> str:
    """Counts per power-of-two bin, on a log2 axis."""
    figure, (ax,) = _figure(2.6, width=HALF_WIDTH)
    edges = np.asarray(edges, dtype=float)
    with matplotlib.rc_context(STYLE):
        drawn = ax.bar(edges[:-1], counts, width=np.diff(edges) * 0.94, align="edge", color=color)
        ax.set_xscale("log", base=2)
        step = max(1, math.ceil(len(edges) / MAX_TICK_LABELS))  # a wide range would overprint its labels
        ax.set_xticks(edges, [_binary(e) if i % step == 0 else "" for i, e in enumerate(edges)], fontsize=8)
        ax.minorticks_off()
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.grid(axis="x", visible=False)
        _count_axis(ax.yaxis)
    _mark([bar for bar, count in zip(drawn.patches, counts) if count], figure_id)
    return _svg(figure, figure_id)


def columns(figure_id: str, labels: Sequence[str], values: Sequence[int], *, title: str, xlabel: str,
            color: str = PALETTE[2]) -> str:
    """Vertical bars over categorical labels (cluster sizes, FIM modes)."""
    figure, (ax,) = _figure(2.4, width=HALF_WIDTH)
    with matplotlib.rc_context(STYLE):
        drawn = ax.bar(range(len(labels)), values, color=color, width=0.7)
        ax.set_xlim(-0.6, max(len(labels), 3) - 0.4)  # a lone column stays column-shaped
        _count_axis(ax.yaxis)
        ax.set_xticks(range(len(labels)), labels)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.grid(axis="x", visible=False)
        ax.bar_label(drawn, labels=[_short(v) for v in values], padding=2, fontsize=8, color="#444444")
        ax.margins(y=0.15)
    _mark(drawn.patches, figure_id)
    return _svg(figure, figure_id)


def _clip(label: str) -> str:
    """A long label (licence expressions can run to hundreds of characters) would squeeze the
    plot; the table beside it keeps the whole text."""
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def _count_axis(axis, ticks: int = 6) -> None:
    axis.set_major_locator(MaxNLocator(nbins=ticks, integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _: _short(value)))


def _binary(value: float) -> str:
    """Powers of two as 512, 1K, 64K, 1M (K = 1024)."""
    for power, suffix in ((30, "G"), (20, "M"), (10, "K")):
        if value >= 2 ** power:
            return f"{value / 2 ** power:g}{suffix}"
    return f"{value:g}"


def _short(value: float) -> str:
    """12,345 -> 12.3k; axis and bar labels stay narrow."""
    value = float(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return re.sub(r"\.0$", "", f"{value / limit:.1f}") + suffix
    return f"{value:.0f}" if value == int(value) else f"{value:.2g}"
