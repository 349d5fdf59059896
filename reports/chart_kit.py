"""What every chart of the report is drawn with: a figure of the report's size (few ticks, fixed margins), its PNG,
the background bands (phases; chaos windows from injection to recovery) and the legend, which the HTML draws (a
matplotlib legend costs more than the plot). The charts themselves are :mod:`reports.charts`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from reports.runfolder import RunFolder

__all__ = ["Chart", "LegendItem", "band_legend", "draw_bands", "legend_of", "new_figure", "to_png"]

_PHASE_COLOURS = {"baseline": "#f2f2f2", "ramp": "#fff3d6", "peak": "#ffe0cc", "cooldown": "#e3f0ff"}
_DPI = 72
_CHAOS_COLOUR, _CHAOS_ALPHA = "#d62728", 0.12
_r, _g, _b = (1 - _CHAOS_ALPHA * (1 - c) for c in to_rgb(_CHAOS_COLOUR))
_CHAOS_BAND = to_hex((_r, _g, _b))  # the band as seen over white


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str  # #rrggbb
    style: str  # solid | dashed | dotted | area


@dataclass(frozen=True)
class Chart:
    """A chart's PNG; its legend is drawn by the HTML (a matplotlib legend costs more than the plot)."""

    name: str
    title: str
    caption: str
    png: bytes
    legend: tuple[LegendItem, ...] = ()


def legend_of(*axes: Axes) -> tuple[LegendItem, ...]:
    items = []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if isinstance(handle, Line2D):
                ls = handle.get_linestyle()
                style = {"--": "dashed", ":": "dotted"}.get(str(ls), "solid")
                items.append(LegendItem(label, to_hex(handle.get_color()), style))
            elif isinstance(handle, Collection):
                r, g, b, _ = (float(v) for v in np.asarray(handle.get_facecolor(), dtype=float).reshape(-1, 4)[0])
                items.append(LegendItem(label, to_hex((r, g, b)), "area"))
    return tuple(items)


def new_figure(height: float = 2.9) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(15.5, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # few ticks: every tick is a handful of matplotlib artists, the main cost of drawing a chart
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_xlabel("seconds since run start")
    return fig, ax


def to_png(fig: Figure) -> bytes:
    """Fixed margins instead of tight_layout (which draws every text twice) and fast PNG compression."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.75 / w, right=1 - 0.75 / w, bottom=0.55 / h, top=1 - 0.3 / h)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def draw_bands(ax: Axes, run: RunFolder, t0: float) -> None:
    """Phase bands as background colour, chaos windows as red bands (named in the HTML's band legend)."""
    man = run.manifest
    if man is None:
        return
    for p in man.phases:
        ax.axvspan(p.start - t0, p.end - t0, color=_PHASE_COLOURS.get(p.name, "#f7f7f7"), zorder=0, linewidth=0)
    for e in man.experiments:
        if e.injected_at is None:
            continue
        end = e.recovered_at if e.recovered_at is not None else (e.end or man.ended)
        ax.axvspan(e.injected_at - t0, end - t0, facecolor=_CHAOS_COLOUR, alpha=_CHAOS_ALPHA, zorder=1, linewidth=0)


def band_legend(run: RunFolder) -> tuple[LegendItem, ...]:
    """What the background bands of every chart mean: phases with their time ranges, then chaos windows."""
    man = run.manifest
    if man is None:
        return ()
    items = [
        LegendItem(f"{p.name} {p.start - man.started:.0f}-{p.end - man.started:.0f} s",
                   _PHASE_COLOURS.get(p.name, "#f7f7f7"), "area")
        for p in man.phases
    ]  # fmt: skip
    for e in man.experiments:
        if e.injected_at is not None:
            end = e.recovered_at if e.recovered_at is not None else (e.end or man.ended)
            when = f"{e.injected_at - man.started:.0f}-{end - man.started:.0f} s"
            items.append(LegendItem(f"chaos: {e.name} {when}", _CHAOS_BAND, "area"))
    return tuple(items)
