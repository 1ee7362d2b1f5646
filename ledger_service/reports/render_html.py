"""The close pack as one self-contained HTML page: inline CSS, each chart an inline static SVG, no script at all.

The page loads nothing from anywhere (no script, no stylesheet link, no font, no image URL), so it opens the same
offline, from an e-mail or an archive, years later. The charts are pygal bar charts rendered to SVG and inlined;
pygal's SVG would pull its tooltip script from the web (its `js` option) and carries an inline config script, a
random id and a comment with today's date: none of that is kept (js=[], scripts and comments stripped, the id
named after the chart), so the same ledger renders to the same bytes. Each bar shows its value printed on it, as
the table shows it (the chart holds no other figure).
"""

from __future__ import annotations

from decimal import Decimal

import pygal
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from pygal.style import Style

from ledger_service.reports.close import Chart, ClosePack

_env = Environment(loader=PackageLoader("ledger_service.reports", "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

POSITIVE, NEGATIVE, TOTAL = "#2e7d32", "#c62828", "#1f4e79"
_STYLE = Style(background="white", plot_background="white", foreground="#333", foreground_strong="#111",
               foreground_subtle="#999", font_family="Helvetica, Arial, sans-serif", colors=(TOTAL,),
               value_font_size=11, label_font_size=11, title_font_size=14)


def render_html(pack: ClosePack) -> bytes:
    template = _env.get_template("close.html.j2")
    charts = {chart.name: Markup(chart_svg(chart)) for s in pack.sections for chart in s.charts}
    return template.render(pack=pack, charts=charts, about=pack.about()).encode("utf-8")


def chart_svg(chart: Chart) -> str:
    """Horizontal bars, top to bottom in the table's order (labels read as the table's lines): green above zero,
    red below, the last (the total: net proceeds) blue; each bar's value printed on it, as the table prints it."""
    places = max((_places(b.amount) for b in chart.bars), default=2)
    bar = pygal.HorizontalBar(
        title=chart.title, style=_STYLE, show_legend=False, print_values=True, truncate_label=-1,
        width=960, height=120 + 36 * len(chart.bars), x_title=f"{chart.currency}, Amazon's sign",
        value_formatter=lambda v: f"{v:,.{places}f}", js=[], disable_xml_declaration=True)
    bar.uuid = chart.name  # the SVG's id and its CSS prefix: fixed, not random
    last = len(chart.bars) - 1
    bars = [(b.label, {"value": float(Decimal(b.amount)),  # exact to the cent for any amount the ledger holds
                       "color": TOTAL if i == last else POSITIVE if Decimal(b.amount) >= 0 else NEGATIVE})
            for i, b in enumerate(chart.bars)][::-1]  # pygal draws the first value at the bottom
    bar.x_labels = [label for label, _ in bars]
    bar.add(chart.currency, [value for _, value in bars])
    bar.add_xml_filter(_static)
    return bar.render(is_unicode=True)


def _static(root):
    """No script (the inline config, any tooltip script) and no comment (pygal's carries the render date)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if callable(child.tag) or str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _places(amount: str) -> int:
    return max(0, -Decimal(amount).as_tuple().exponent)
