"""The report's tables as files: one CSV with a section per table, one XLSX workbook
with a worksheet per sheet (XlsxWriter). Figures only: no names or numbers of citizens
are in the facts; operators appear as their staff usernames."""
import csv
import datetime as dt
import io
import re

import xlsxwriter

from .tables import Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
FORMATS = {"int": "#,##0", "num": "#,##0.0", "pct": "0.0%", "date": "yyyy-mm-dd"}


def filename(period: dict, ext: str) -> str:
    """`laporan-tabang-2026-11-01_2026-11-30.xlsx`: the scope's codes (or `semua`) and
    the days."""
    scope = [str(period[k]) for k in ("site", "agency", "service") if period.get(k)]
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(scope or ["semua"]).lower()).strip("-")
    return f"laporan-{slug}-{period['from']}_{period['to']}.{ext}"


def _kind(column, row) -> str:
    return row.get("kind", "text") if column.kind == "auto" else column.kind


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


def csv_bytes(tables: list[Table]) -> bytes:
    """One file, read top to bottom: each table is its title row, its header row, its
    rows and a blank line. UTF-8 with a byte-order mark (Excel reads it as UTF-8);
    decimal points, percentages as 0-100."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for table in tables:
        writer.writerow([table.title])
        writer.writerow([c.title for c in table.columns])
        for row in table.rows:
            writer.writerow([_csv_value(row.get(c.key)) for c in table.columns])
        writer.writerow([])
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(tables: list[Table], title: str, generated_at: dt.datetime) -> bytes:
    """A worksheet per sheet, its tables one under the other: a bold title, a bold
    header row (frozen, with a filter when the sheet holds one table), numbers as
    numbers with their formats, percentages as Excel percentages, days as dates, column
    widths to fit."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"title": title, "author": "Mini MPP Antrian",
                         "created": generated_at.replace(tzinfo=None)})
    bold = book.add_format({"bold": True})
    heading = book.add_format({"bold": True, "font_size": 13})
    header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#E6EEF7",
                              "text_wrap": True, "valign": "top"})
    formats = {kind: book.add_format({"num_format": pattern})
               for kind, pattern in FORMATS.items()}
    sheets: dict[str, list[Table]] = {}
    for table in tables:
        sheets.setdefault(table.sheet, []).append(table)
    for name, group in sheets.items():
        sheet = book.add_worksheet(name)
        widths: dict[int, int] = {}
        row_no = 0
        for index, table in enumerate(group):
            sheet.write(row_no, 0, table.title, heading)
            header_row = row_no + 1
            for col, column in enumerate(table.columns):
                sheet.write(header_row, col, column.title, header)
                widths[col] = max(widths.get(col, 0), min(len(column.title), 24))
            for offset, row in enumerate(table.rows, start=header_row + 1):
                for col, column in enumerate(table.columns):
                    value = row.get(column.key)
                    kind = _kind(column, row)
                    _write(sheet, offset, col, value, kind, formats, bold if col == 0
                           and column.kind == "text" and len(table.columns) == 2 else None)
                    widths[col] = max(widths.get(col, 0), len(_shown(value, kind)))
            last_row = header_row + len(table.rows)
            if index == 0:
                sheet.freeze_panes(header_row + 1, 0)
                if len(group) == 1 and table.rows:
                    sheet.autofilter(header_row, 0, last_row, len(table.columns) - 1)
            if name == "Jam kedatangan" and table.rows:
                sheet.conditional_format(header_row + 1, 1, last_row, len(table.columns) - 1,
                                         {"type": "2_color_scale", "min_color": "#FFFFFF",
                                          "max_color": "#0B4F8A"})
            row_no = last_row + 2
        for col, width in widths.items():
            sheet.set_column(col, col, min(max(width + 2, 8), 50))
    book.close()
    return out.getvalue()


def _write(sheet, row, col, value, kind, formats, text_format):
    if value is None or value == "":
        sheet.write_blank(row, col, None)
    elif kind == "date":
        sheet.write_datetime(row, col, dt.datetime.fromisoformat(str(value)), formats["date"])
    elif kind == "pct":
        sheet.write_number(row, col, float(value) / 100, formats["pct"])
    elif kind in ("int", "num"):
        sheet.write_number(row, col, value, formats[kind])
    else:
        sheet.write_string(row, col, str(value), text_format)


def _shown(value, kind) -> str:
    if value is None:
        return ""
    if kind == "date":
        return "2026-11-30"
    if kind == "pct":
        return "100.0%"
    return str(value)
