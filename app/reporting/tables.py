"""The report as titled tables with Indonesian headers. One list feeds the page, the CSV
and the XLSX, so the three say the same thing in the same words.

A table belongs to a sheet (the XLSX worksheet, the CSV section); each column has a
kind that decides how its values are written: `text`, `int`, `num` (one decimal),
`pct` (a percentage, 0-100), `date` (YYYY-MM-DD), or `auto` (each row says its own
`kind`: the two-column "Ukuran / Nilai" blocks)."""
import datetime as dt
from dataclasses import dataclass, field, replace

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
# Hours always shown in the heat map (the demo halls open 08:00-15:00); more when data
# falls outside.
HOURS = range(7, 17)


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "int"


@dataclass(frozen=True)
class Table:
    sheet: str
    title: str
    en: str
    columns: tuple[Column, ...]
    rows: list[dict] = field(default_factory=list)

    def only(self, keys) -> "Table":
        """The same table with fewer columns (the page shows fewer than the files)."""
        return replace(self, columns=tuple(c for c in self.columns if c.key in keys))


FIGURES = (
    Column("arrived", "Datang"),
    Column("served", "Dilayani"),
    Column("no_show", "Tidak hadir"),
    Column("no_show_rate", "Tidak hadir (%)", "pct"),
    Column("cancelled", "Dibatalkan"),
    Column("transferred", "Dialihkan"),
    Column("appointments", "Dengan booking"),
    Column("wait_mean", "Tunggu rata-rata (menit)", "num"),
    Column("wait_p50", "Tunggu median (menit)"),
    Column("wait_p90", "Tunggu p90 (menit)"),
    Column("wait_max", "Tunggu maks (menit)", "num"),
    Column("service_mean", "Layanan rata-rata (menit)", "num"),
    Column("service_p90", "Layanan p90 (menit)"),
    Column("within_target_pct", "Dalam target (%)", "pct"),
)
# What the page's breakdown tables show; the files carry every column.
PAGE_KEYS = {"name", "site", "counter", "operator", "day", "arrived", "served",
             "no_show_rate", "transferred", "wait_mean", "wait_p90", "service_mean",
             "within_target_pct"}
SHEETS = ("Ringkasan", "Per lokasi", "Per instansi", "Per layanan", "Per loket",
          "Per petugas", "Per hari", "Jam kedatangan", "Booking", "Berkas")


def flat(row: dict) -> dict:
    """A row of the summary with its nested minutes spread into columns."""
    out = {k: v for k, v in row.items() if k not in ("wait_minutes", "service_minutes")}
    for name, prefix in (("wait_minutes", "wait_"), ("service_minutes", "service_")):
        for key, value in (row.get(name) or {}).items():
            out[prefix + key] = value
    return out


def _measures(rows: list[tuple[str, object, str]]) -> list[dict]:
    return [{"label": label, "value": value, "kind": kind} for label, value, kind in rows]


MEASURES = (Column("label", "Ukuran", "text"), Column("value", "Nilai", "auto"))


def summary_table(summary: dict, names: dict | None = None) -> Table:
    """Ringkasan: the period, the scope and the totals, one measure a row."""
    names = names or {}
    period = summary["period"]
    totals = flat(summary)
    incomplete = "; ".join(f"{row['name']} (data sampai {local_text(row['data_until'])})"
                           for row in summary["incomplete_sites"])
    rows = [("Dari", period["from"], "date"), ("Sampai", period["to"], "date"),
            ("Lokasi", names.get("site") or period["site"] or "Semua", "text"),
            ("Instansi", names.get("agency") or period["agency"] or "Semua", "text"),
            ("Layanan", names.get("service") or period["service"] or "Semua", "text")]
    rows += [(c.title, totals.get(c.key), c.kind) for c in FIGURES]
    rows += [("Berkas dibuka", summary["cases"]["opened"], "int"),
             ("Booking untuk periode ini", summary["bookings"]["made"], "int"),
             ("Data belum lengkap", incomplete or "Tidak ada", "text"),
             ("Dibuat", local_text(summary["generated_at"]) + " WITA", "text")]
    return Table("Ringkasan", "Ringkasan", "Totals", MEASURES, _measures(rows))


def _counter_rows(rows):
    for row in rows:
        site, _, counter = row["key"].partition("/")
        yield {**row, "site": site, "counter": counter}


BREAKDOWNS = (
    # (summary key, sheet, title, English, leading columns)
    ("by_site", "Per lokasi", "Per lokasi", "By hall",
     (Column("key", "Kode lokasi", "text"), Column("name", "Lokasi", "text"))),
    ("by_agency", "Per instansi", "Per instansi", "By agency",
     (Column("key", "Kode instansi", "text"), Column("name", "Instansi", "text"))),
    ("by_service", "Per layanan", "Per layanan", "By service",
     (Column("key", "Kode layanan", "text"), Column("name", "Layanan", "text"))),
    ("by_counter", "Per loket", "Per loket", "By counter",
     (Column("site", "Lokasi", "text"), Column("counter", "Loket", "text"))),
    ("by_operator", "Per petugas", "Per petugas", "By operator",
     (Column("operator", "Petugas", "text"),)),
    ("by_day", "Per hari", "Per hari", "By day", (Column("day", "Tanggal", "date"),)),
)


def breakdown_tables(summary: dict) -> dict[str, Table]:
    """Per hall, agency, service, counter, operator and day, keyed by the summary's key."""
    out = {}
    for key, sheet, title, en, leading in BREAKDOWNS:
        rows = [flat(row) for row in summary[key]]
        if key == "by_counter":
            rows = list(_counter_rows(rows))
        if key in ("by_operator", "by_day"):
            rows = [{**row, key[3:]: row["key"]} for row in rows]
        out[key] = Table(sheet, title, en, leading + FIGURES, rows)
    return out


def heat_hours(by_hour: list[dict]) -> list[int]:
    seen = [row["hour"] for row in by_hour]
    return list(range(min([HOURS.start, *seen]), max([HOURS.stop - 1, *seen]) + 1))


def heat_weekdays(by_hour: list[dict]) -> list[int]:
    """Monday to Friday always; Saturday and Sunday when someone came."""
    seen = {row["weekday"] for row in by_hour}
    return [day for day in range(7) if day < 5 or day in seen]


def heat_table(summary: dict) -> Table:
    """Arrivals per weekday (rows) and hour (columns), WITA."""
    by_hour = summary["by_hour"]
    counts = {(r["weekday"], r["hour"]): r["arrived"] for r in by_hour}
    hours = heat_hours(by_hour)
    columns = (Column("weekday", "Hari", "text"),
               *(Column(f"h{h:02d}", f"{h:02d}:00", "int") for h in hours))
    rows = [{"weekday": WEEKDAYS[day], **{f"h{h:02d}": counts.get((day, h), 0) for h in hours}}
            for day in heat_weekdays(by_hour)]
    return Table("Jam kedatangan", "Jam kedatangan (WITA)", "Arrivals by weekday and hour",
                 columns, rows)


def bookings_table(summary: dict) -> Table:
    b = summary["bookings"]
    return Table("Booking", "Booking", "Appointments", MEASURES, _measures([
        ("Booking untuk periode ini", b["made"], "int"), ("Check-in", b["checked_in"], "int"),
        ("Tidak datang", b["no_show"], "int"), ("Dibatalkan", b["cancelled"], "int"),
        ("Masih terjadwal", b["booked"], "int"),
        ("Dipesan rata-rata (hari sebelumnya)", b["lead_days_mean"], "num")]))


def cases_tables(summary: dict) -> list[Table]:
    c = summary["cases"]
    counts = Table("Berkas", "Berkas", "Cases", MEASURES, _measures([
        ("Berkas dibuka", c["opened"], "int"), ("Diteruskan", c["forwarded"], "int"),
        ("Dalam proses", c["in_process"], "int"), ("Perlu perbaikan", c["needs_fix"], "int"),
        ("Siap diambil", c["ready"], "int"), ("Sudah diambil", c["picked_up"], "int")]))
    ready = Table("Berkas", "Lama sampai siap diambil", "Days to ready, per agency", (
        Column("agency", "Kode instansi", "text"), Column("name", "Instansi", "text"),
        Column("cases", "Berkas siap"), Column("median_days", "Median (hari)", "num")),
        list(c["days_to_ready"]))
    return [counts, ready]


def all_tables(summary: dict, names: dict | None = None) -> list[Table]:
    """Every table of the report, in the order of the sheets."""
    return [summary_table(summary, names), *breakdown_tables(summary).values(),
            heat_table(summary), bookings_table(summary), *cases_tables(summary)]


# --- words and numbers as a reader in Indonesia writes them ----------------------------

def local_text(iso_text: str | None) -> str:
    """An ISO instant (already in WITA) as `30-11-2026 08:58`."""
    if not iso_text:
        return "belum pernah"
    moment = dt.datetime.fromisoformat(iso_text)
    return moment.strftime("%d-%m-%Y %H:%M")


def day_text(day: dt.date | str) -> str:
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def short_day(day: dt.date | str) -> str:
    """A table's day: `Sen, 30 Nov 2026`."""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return f"{WEEKDAYS[day.weekday()][:3]}, {day.day} {MONTHS[day.month - 1][:3]} {day.year}"


def period_text(first: dt.date | str, last: dt.date | str) -> str:
    """`1-30 November 2026`, `28 November - 4 Desember 2026`, `30 November 2026`."""
    first = dt.date.fromisoformat(first) if isinstance(first, str) else first
    last = dt.date.fromisoformat(last) if isinstance(last, str) else last
    if first == last:
        return day_text(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {MONTHS[last.month - 1]} {last.year}"
    if first.year == last.year:
        return f"{first.day} {MONTHS[first.month - 1]} - {day_text(last)}"
    return f"{day_text(first)} - {day_text(last)}"


def number(value, kind: str = "num") -> str:
    """`1.234`, `28,0`, `50,0%`, `-` for nothing: Indonesian separators."""
    if value is None or value == "":
        return "-"
    if kind == "text":
        return str(value)
    if kind == "date":
        return short_day(value)
    if kind == "int":
        return f"{int(value):,}".replace(",", ".")
    text = f"{float(value):,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return text + ("%" if kind == "pct" else "")
