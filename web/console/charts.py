"""Charts as server-rendered SVG by pygal (a maintained SVG charting library): no script, no
CDN — pygal's tooltip script, which it links from a CDN by default, is switched off."""
from __future__ import annotations

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1f2933", foreground_strong="#1f2933",
              foreground_subtle="#52606d", colors=("#0b6e4f", "#b42318", "#d97706", "#ca8a04", "#52606d"),
              font_family='"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif',
              label_font_size=14, major_label_font_size=14, legend_font_size=14, title_font_size=16,
              value_font_size=13)


def _config(chart: pygal.graph.graph.Graph) -> pygal.graph.graph.Graph:
    chart.config.js = []  # no external script
    chart.config.disable_xml_declaration = True
    chart.config.explicit_size = False
    chart.config.print_values = True
    chart.config.legend_at_bottom = True
    return chart


def svg(chart: pygal.graph.graph.Graph) -> Markup:
    # pygal escapes every label and value it writes into the SVG.
    return Markup(chart.render(is_unicode=True))


def bars(title: str, labels: list[str], series: list[tuple[str, list[float | None]]], *,
         horizontal: bool = False) -> Markup:
    chart = _config((pygal.HorizontalBar if horizontal else pygal.Bar)(
        style=STYLE, width=720, height=360, title=title, show_y_guides=True))
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return svg(chart)


def lines(title: str, labels: list[str], series: list[tuple[str, list[float | None]]]) -> Markup:
    chart = _config(pygal.Line(style=STYLE, width=720, height=320, title=title, dots_size=4))
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    return svg(chart)
