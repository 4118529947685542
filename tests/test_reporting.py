"""The report's presentation (app/reporting): Indonesian numbers and periods, the file
names, the heat map's shades, and charts with nothing from outside, with or without
data."""
import datetime as dt
import importlib
import re
import sys
import warnings

from app.reporting import charts, exports, tables


def empty_summary(**extra) -> dict:
    figures = {"arrived": 0, "served": 0, "no_show": 0, "no_show_rate": None, "cancelled": 0,
               "transferred": 0, "appointments": 0,
               "wait_minutes": {"mean": None, "p50": None, "p90": None, "max": None},
               "service_minutes": {"mean": None, "p90": None}, "within_target_pct": None}
    return {"period": {"from": "2026-11-01", "to": "2026-11-30", "site": None,
                       "agency": None, "service": None},
            **figures, "incomplete_sites": [], "by_site": [], "by_agency": [],
            "by_service": [], "by_counter": [], "by_operator": [], "by_day": [],
            "by_hour": [], "generated_at": "2026-11-30T09:05:00+08:00",
            "bookings": {"made": 0, "checked_in": 0, "no_show": 0, "cancelled": 0,
                         "booked": 0, "lead_days_mean": None},
            "cases": {"opened": 0, "forwarded": 0, "in_process": 0, "needs_fix": 0,
                      "ready": 0, "picked_up": 0, "days_to_ready": []}, **extra}


def test_numbers_and_days_as_written_in_indonesia():
    assert tables.number(1234, "int") == "1.234"
    assert tables.number(28.0) == "28,0" and tables.number(1234.56) == "1.234,6"
    assert tables.number(50.0, "pct") == "50,0%"
    assert tables.number(None, "int") == "-"
    assert tables.number("2026-11-30", "date") == "Sen, 30 Nov 2026"
    assert tables.period_text(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == (
        "1-30 November 2026")
    assert tables.period_text("2026-11-30", "2026-12-06") == "30 November - 6 Desember 2026"
    assert tables.period_text("2026-12-28", "2027-01-03") == (
        "28 Desember 2026 - 3 Januari 2027")
    assert tables.local_text("2026-11-30T08:58:00+08:00") == "30-11-2026 08:58"
    assert tables.local_text(None) == "belum pernah"


def test_file_names_say_the_scope_and_the_days():
    period = {"from": "2026-11-01", "to": "2026-11-30", "site": "tabang", "agency": None,
              "service": None}
    assert exports.filename(period, "xlsx") == "laporan-tabang-2026-11-01_2026-11-30.xlsx"
    assert exports.filename({**period, "site": None}, "csv") == (
        "laporan-semua-2026-11-01_2026-11-30.csv")
    assert exports.filename({**period, "agency": "disdukcapil", "service": "ADM-KTP"},
                            "csv").startswith("laporan-tabang-disdukcapil-adm-ktp-")


def test_the_heat_maps_shades():
    summary = empty_summary(by_hour=[{"weekday": 0, "hour": 8, "arrived": 10},
                                     {"weekday": 0, "hour": 9, "arrived": 1},
                                     {"weekday": 5, "hour": 18, "arrived": 4}])
    heat = charts.heat_map(summary)
    assert heat.hours == list(range(7, 19)) and heat.peak == 10
    assert [day for day, _cells in heat.rows] == ["Senin", "Selasa", "Rabu", "Kamis",
                                                  "Jumat", "Sabtu"]  # no Sunday visitors
    monday = dict(zip(heat.hours, heat.rows[0][1]))
    assert monday[8] == (10, 5) and monday[9] == (1, 1) and monday[10] == (0, 0)
    assert dict(zip(heat.hours, heat.rows[5][1]))[18] == (4, 2)


OUTSIDE = re.compile(r"(?:https?:)?//(?!www\.w3\.org/)[\w.-]+")


def test_charts_are_offline_with_and_without_data():
    full = empty_summary(
        by_day=[{"key": "2026-11-30", "arrived": 3, "served": 2}],
        by_service=[{"key": "ADM-KTP", "name": "KTP Elektronik", "arrived": 3,
                     "wait_minutes": {"mean": 28.0, "p90": 36}}])
    for summary in (full, empty_summary()):
        for chart in (charts.per_day(summary), charts.wait_per_service(summary)):
            assert chart.svg.startswith("<svg") and f'width="{chart.width}"' in chart.svg
            assert "<script" not in chart.svg and "<!--" not in chart.svg
            assert OUTSIDE.findall(chart.svg) == []
            assert chart.data_uri.startswith("data:image/svg+xml;base64,")
    assert "Belum ada data" in charts.per_day(empty_summary()).svg


def test_pygal_leaves_no_import_hook_behind():
    """pygal's map-plugin hook would warn on every failed import in the process."""
    assert not any(type(f).__name__ == "PluginImportFixer" for f in sys.meta_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            importlib.import_module("encodings.no_such_codec_here")
        except ImportError:
            pass


def test_every_sheet_and_an_empty_workbook():
    every = tables.all_tables(empty_summary())
    assert [t.sheet for t in every] == list(tables.SHEETS) + ["Berkas"]
    body = exports.xlsx_bytes(every, "Laporan", dt.datetime(2026, 11, 30, 1, 5))
    assert body[:2] == b"PK"
    text = exports.csv_bytes(every).decode("utf-8-sig")
    assert text.startswith("Ringkasan\r\nUkuran,Nilai\r\nDari,2026-11-01\r\n")
