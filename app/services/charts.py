"""Server-rendered SVG charts (pygal): one house style, localized numbers, no JavaScript.

Every function returns SVG markup ready for ``{{ svg|safe }}``. Values are plain numbers; pass a
``formatter`` (e.g. a Babel money or number formatter bound to the request's locale) so labels and
tooltips read the way the user reads numbers. Charts scale to their container (``viewBox``), carry a
``<title>`` for screen readers, and stay legible at 390 px wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import pygal
from pygal.style import Style

PALETTE = ("#4338ca", "#0ea5e9", "#f59e0b", "#047857", "#b91c1c", "#7c3aed", "#64748b", "#db2777")

STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#111827",
    foreground_strong="#111827",
    foreground_subtle="#e2e5ec",
    opacity=".85",
    opacity_hover="1",
    transition="0s",
    colors=PALETTE,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=12,
    tooltip_font_size=13,
    legend_font_size=13,
    title_font_size=15,
)

Number = float | int | None
Formatter = Callable[[float], str]


def _config(formatter: Formatter | None, *, width: int, height: int, legend: bool) -> dict:
    options = {
        "style": STYLE,
        "width": width,
        "height": height,
        "explicit_size": False,
        "disable_xml_declaration": True,
        "js": [],  # no external script: tooltips would need it, and we download nothing at run time
        "show_legend": legend,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "margin": 8,
        "spacing": 12,
        "truncate_label": 14,
        "truncate_legend": 28,
        "print_values": False,
        "title": None,
        "max_scale": 6,  # a handful of value labels stay legible when the chart shrinks to a phone
        "min_scale": 3,
    }
    if formatter is not None:
        options["value_formatter"] = formatter
    return options


def _render(chart: pygal.graph.graph.Graph, title: str) -> str:
    svg = chart.render(is_unicode=True)
    # A readable name for assistive tech; pygal's own title would eat vertical space on phones.
    label = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def line(
    series: Mapping[str, Sequence[Number]],
    labels: Sequence[str],
    *,
    title: str,
    formatter: Formatter | None = None,
    width: int = 720,
    height: int = 300,
    fill: bool = False,
) -> str:
    """Lines over shared x labels (days, weeks, months); ``None`` leaves a gap."""
    chart = pygal.Line(
        **_config(formatter, width=width, height=height, legend=len(series) > 1),
        fill=fill,
        margin_bottom=18,  # pygal under-measures the bottom legend of a line chart and clips its text
        show_dots=len(labels) <= 31,
        dots_size=3,
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, math.ceil(len(labels) / 6)),
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _render(chart, title)


def bar(
    series: Mapping[str, Sequence[Number]],
    labels: Sequence[str],
    *,
    title: str,
    formatter: Formatter | None = None,
    width: int = 720,
    height: int = 300,
    stacked: bool = False,
) -> str:
    """Vertical bars; several series side by side (or stacked)."""
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(
        **_config(formatter, width=width, height=height, legend=len(series) > 1),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, math.ceil(len(labels) / 7)),
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _render(chart, title)


def hbar(
    values: Mapping[str, Number],
    *,
    title: str,
    formatter: Formatter | None = None,
    width: int = 720,
    height: int | None = None,
) -> str:
    """One horizontal bar per label (rankings, lifts, funnels); labels read on the left."""
    rows = list(values.items())
    options = _config(formatter, width=width, height=height or max(160, 44 * len(rows) + 40), legend=False)
    options["print_values"] = True
    chart = pygal.HorizontalBar(**options)
    chart.x_labels = [label for label, _ in rows]
    chart.add(title, [value for _, value in rows])
    return _render(chart, title)


def funnel(
    steps: Mapping[str, Number],
    *,
    title: str,
    formatter: Formatter | None = None,
    width: int = 720,
) -> str:
    """A funnel read top to bottom: one bar per step, each in the next palette colour, values printed."""
    rows = list(steps.items())
    options = _config(formatter, width=width, height=max(160, 52 * len(rows) + 40), legend=False)
    options.update(print_values=True, show_x_labels=False, show_y_guides=False, show_x_guides=False)
    chart = pygal.HorizontalBar(**options)
    # pygal draws the first label at the bottom; a funnel starts at the top.
    chart.x_labels = [label for label, _ in reversed(rows)]
    count = len(rows)
    chart.add(
        title,
        [
            {"value": value, "color": PALETTE[(count - 1 - i) % len(PALETTE)]}
            for i, (_, value) in enumerate(reversed(rows))
        ],
    )
    return _render(chart, title)


def heat_colour(share: float | None) -> str:
    """A single-hue (indigo) shade for a heat-map cell: readable for colour-blind people and in print."""
    if share is None:
        return "transparent"
    alpha = 0.08 + 0.8 * max(0.0, min(1.0, share))
    return f"rgba(67, 56, 202, {alpha:.2f})"
