"""The report's charts, drawn on the server with pygal as SVG, and the heat map's shaded
cells (pygal has no heat map: the page draws it as a table).

Offline by construction: pygal's default config loads its tooltip script from a CDN
and stamps links to its home page into the SVG, so every chart is made with `js=[]`,
a plain style (no web fonts) and a filter that drops scripts and comments; the tests
check that no outside address is left. The page shows each chart as an image from a
`data:` address: the house CSP (`style-src 'self'`) would block the `<style>` of an
SVG placed in the page itself, while an SVG image is its own document."""
import base64
import datetime as dt
import math
import sys
from dataclasses import dataclass

import pygal
from pygal.style import Style

from .tables import WEEKDAYS, heat_hours, heat_weekdays, number

# pygal appends an old-style import hook to sys.meta_path for its map plugins (unused
# here); on Python 3.11 it makes every import that finds nothing, anywhere in the
# process, raise an ImportWarning. Take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path
                    if type(finder).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1c2430",
    foreground_strong="#1c2430", foreground_subtle="#d5dbe3", opacity=".9",
    opacity_hover="1", colors=("#0b4f8a", "#1b7f3b", "#b86e00", "#b3261e"),
    font_family='"Noto Sans", "DejaVu Sans", Arial, sans-serif',
    label_font_size=13, major_label_font_size=13, legend_font_size=14,
    value_font_size=12, title_font_size=16, no_data_font_size=20,
)
HEAT_LEVELS = 5  # shades of the heat map; 0 is "nobody came"


@dataclass(frozen=True)
class Chart:
    title: str
    en: str
    alt: str
    svg: str
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(
            self.svg.encode("utf-8")).decode("ascii")


def _offline(root):
    """pygal's output without its script and its comments (links to its home page)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.rpartition("}")[2] == "script":
                parent.remove(child)
    return root


def _config(width: int, height: int, **extra) -> dict:
    return dict(width=width, height=height, explicit_size=True, style=STYLE, js=[],
                disable_xml_declaration=True,
                legend_at_bottom=True, legend_at_bottom_columns=2, show_y_guides=True,
                no_data_text="Belum ada data", print_values=False, margin=12,
                truncate_label=-1, truncate_legend=-1, **extra)


def _render(chart) -> str:
    chart.add_xml_filter(_offline)
    return chart.render(is_unicode=True)


def _whole_ticks(top) -> list[int]:
    """Axis labels in whole numbers (people, minutes), at most about eight."""
    top = max(1, math.ceil(top or 0))
    step = next(step for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000,
                                  5000, 10 ** 4, 10 ** 5, 10 ** 6) if top / step <= 8)
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def per_day(summary: dict) -> Chart:
    """Arrivals and served per day, as bars."""
    days = summary["by_day"]
    labels = [dt.date.fromisoformat(r["key"]).strftime("%d/%m") for r in days]
    width, height = 720, 320
    chart = pygal.Bar(**_config(width, height, x_label_rotation=-45 if len(days) > 12 else 0,
                                y_title="Orang", min_scale=1))
    chart.x_labels = labels
    chart.y_labels = _whole_ticks(max([r["arrived"] for r in days], default=0))
    chart.add("Datang", [r["arrived"] for r in days])
    chart.add("Dilayani", [r["served"] for r in days])
    total = sum(r["arrived"] for r in days)
    alt = (f"Diagram batang kedatangan dan yang dilayani per hari, {len(days)} hari "
           f"dengan data, {number(total, 'int')} datang. Angkanya ada di tabel.")
    return Chart("Kedatangan per hari", "Arrivals and served per day", alt, _render(chart),
                 width, height)


def wait_per_service(summary: dict) -> Chart:
    """Mean and 90th-percentile wait per service, as horizontal bars."""
    # pygal draws the first label at the bottom: reversed, the chart reads top-down in
    # the table's order.
    rows = [r for r in reversed(summary["by_service"])
            if r["wait_minutes"]["mean"] is not None]
    width, height = 720, max(220, 110 + 56 * len(rows))
    chart = pygal.HorizontalBar(**_config(width, height, x_title="Menit", min_scale=1))
    chart.x_labels = [r["name"] for r in rows]
    chart.y_labels = _whole_ticks(max([r["wait_minutes"]["p90"] or 0 for r in rows]
                                      + [r["wait_minutes"]["mean"] or 0 for r in rows],
                                      default=0))
    chart.add("Rata-rata", [r["wait_minutes"]["mean"] for r in rows])
    chart.add("P90", [r["wait_minutes"]["p90"] for r in rows])
    alt = (f"Diagram batang waktu tunggu per layanan, {len(rows)} layanan: rata-rata dan "
           "persentil ke-90 dalam menit. Angkanya ada di tabel.")
    return Chart("Waktu tunggu per layanan", "Waiting time per service", alt,
                 _render(chart), width, height)


@dataclass(frozen=True)
class HeatMap:
    hours: list[int]
    rows: list[tuple[str, list[tuple[int, int]]]]  # (weekday, [(arrived, level)])
    peak: int


def heat_map(summary: dict) -> HeatMap:
    """Arrivals per weekday and hour with a shade 0-5 each (0: nobody; 5: the busiest
    hour of the period)."""
    by_hour = summary["by_hour"]
    counts = {(r["weekday"], r["hour"]): r["arrived"] for r in by_hour}
    peak = max(counts.values(), default=0)
    hours = heat_hours(by_hour)

    def level(n: int) -> int:
        return 0 if n == 0 or peak == 0 else max(1, math.ceil(HEAT_LEVELS * n / peak))

    rows = [(WEEKDAYS[day], [(counts.get((day, h), 0), level(counts.get((day, h), 0)))
                             for h in hours]) for day in heat_weekdays(by_hour)]
    return HeatMap(hours, rows, peak)
