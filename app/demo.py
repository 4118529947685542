"""The Kukar demo catalogue (region codes, agencies, services, accounts): loaded on an
empty database through the same domain verbs as the admin pages.

Figures marked "est." in the reference (hours, quotas, service times) are editable data
here, never logic.
"""
import datetime as dt
import re

from boards.state import update_board

from .db import write_transaction
from .domain import audit, catalogue, counters, halls, queueing, seed, users
from .models import Site
from .printing import kiosks

KECAMATAN = [  # (Kemendagri code, name, zone)
    ("64.02.01", "Muara Muntai", "hulu"), ("64.02.02", "Loa Kulu", "tengah"),
    ("64.02.03", "Loa Janan", "pesisir"), ("64.02.04", "Anggana", "pesisir"),
    ("64.02.05", "Muara Badak", "pesisir"), ("64.02.06", "Tenggarong", "induk"),
    ("64.02.07", "Sebulu", "tengah"), ("64.02.08", "Kota Bangun", "hulu"),
    ("64.02.09", "Kenohan", "hulu"), ("64.02.10", "Kembang Janggut", "hulu"),
    ("64.02.11", "Muara Kaman", "tengah"), ("64.02.12", "Tabang", "hulu"),
    ("64.02.13", "Samboja", "pesisir"), ("64.02.14", "Muara Jawa", "pesisir"),
    ("64.02.15", "Sanga Sanga", "pesisir"), ("64.02.16", "Tenggarong Seberang", "tengah"),
    ("64.02.17", "Marang Kayu", "pesisir"), ("64.02.18", "Muara Wis", "hulu"),
    ("64.02.19", "Kota Bangun Darat", "hulu"), ("64.02.20", "Samboja Barat", "pesisir"),
]

AGENCIES = [
    ("disdukcapil", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("dpmptsp", "Dinas Penanaman Modal dan PTSP"),
    ("polres", "Polres Kutai Kartanegara"),
    ("samsat", "UPTD Samsat Tenggarong"),
    ("imigrasi", "Kantor Imigrasi Samarinda"),
    ("bpjs-kesehatan", "BPJS Kesehatan"),
    ("kemenag", "Kementerian Agama (KUA)"),
    ("kemenkumham", "Kementerian Hukum"),
    ("kecamatan", "Kecamatan (PATEN)"),
    ("informasi", "Informasi dan Pengaduan"),
]

# code, agency, prefix, mini (yes|intake|no), minutes (est.), fee, name, requirements
SERVICES = [
    ("ADM-KK", "disdukcapil", "A", "yes", 12, "Gratis", "Kartu Keluarga (KK)",
     ["Formulir F-1.01", "Surat pengantar RT/RW", "Bukti peristiwa (nikah, cerai, pindah)",
      "SPTJM F-1.04 bila dokumen tidak ada"]),
    ("ADM-KTP", "disdukcapil", "A", "yes", 10, "Gratis", "KTP Elektronik",
     ["Berusia 17 tahun atau sudah/pernah menikah", "Kartu Keluarga"]),
    ("ADM-LAHIR", "disdukcapil", "A", "yes", 12, "Gratis", "Akta Kelahiran",
     ["Surat keterangan lahir (RS/bidan/desa) atau SPTJM F-2.03",
      "Buku nikah atau SPTJM F-2.04", "Kartu Keluarga"]),
    ("ADM-MATI", "disdukcapil", "A", "yes", 10, "Gratis", "Akta Kematian",
     ["Surat keterangan kematian", "KK dan KTP almarhum", "KTP pelapor"]),
    ("ADM-PINDAH", "disdukcapil", "A", "yes", 10, "Gratis", "Surat Pindah",
     ["KTP-el", "Kartu Keluarga", "Surat kehilangan dari kepolisian bila hilang"]),
    ("IZN-NIB", "dpmptsp", "B", "yes", 15, "Gratis", "Nomor Induk Berusaha (NIB)",
     ["NIK", "NPWP", "Alamat e-mail", "Nomor HP", "Kode KBLI", "Lokasi usaha"]),
    ("POL-SKCK", "polres", "C", "yes", 15, "Rp30.000", "SKCK",
     ["KTP", "Kartu Keluarga", "Akta kelahiran atau ijazah",
      "Pas foto 4x6 latar merah", "Formulir sidik jari", "Surat pengantar desa",
      "Kartu BPJS Kesehatan aktif"]),
    ("SMS-PKB", "samsat", "D", "no", 10, "Sesuai pajak", "Pajak Kendaraan Bermotor",
     ["KTP sesuai STNK", "STNK", "BPKB dan cek fisik (5 tahunan)"]),
    ("IMI-PASPOR", "imigrasi", "E", "intake", 20, "Rp350.000 / Rp650.000 (e-paspor)",
     "Paspor", ["KTP", "Kartu Keluarga", "Akta kelahiran, ijazah atau buku nikah",
                "Paspor lama (untuk penggantian)"]),
    ("BPJ-DAFTAR", "bpjs-kesehatan", "F", "yes", 10, "Gratis", "Pendaftaran BPJS Kesehatan",
     ["KTP", "Kartu Keluarga", "Nomor HP atau e-mail"]),
    ("KUA-NIKAH", "kemenag", "H", "yes", 15, "Gratis di kantor", "Pendaftaran Nikah",
     ["Sesuai ketentuan KUA"]),
    ("HUK-LEGAL", "kemenkumham", "J", "intake", 15, "Sesuai PNBP", "Layanan Hukum",
     ["Sesuai jenis layanan"]),
    ("PTN-SK", "kecamatan", "P", "yes", 10, "Gratis", "Surat Keterangan Kecamatan",
     ["Surat pengantar desa/kelurahan", "KTP", "Kartu Keluarga"]),
    ("INFO", "informasi", "R", "yes", 5, "-", "Informasi dan Pengaduan", []),
]

MINI_COUNTERS = [
    ("L1", "Loket 1 Kependudukan", ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI",
                                    "ADM-PINDAH"]),
    ("L2", "Loket 2 Perizinan & Kecamatan", ["IZN-NIB", "PTN-SK", "KUA-NIKAH", "INFO"]),
    ("L3", "Loket 3 Instansi Vertikal", ["POL-SKCK", "IMI-PASPOR", "BPJ-DAFTAR",
                                         "HUK-LEGAL", "INFO"]),
]
INDUK_COUNTERS = [
    ("L1", "Loket 1 Disdukcapil", ["ADM-KK", "ADM-KTP", "ADM-LAHIR", "ADM-MATI",
                                   "ADM-PINDAH"]),
    ("L2", "Loket 2 Perizinan & Informasi", ["IZN-NIB", "PTN-SK", "INFO"]),
    ("L3", "Loket 3 Samsat & BPJS", ["SMS-PKB", "BPJ-DAFTAR"]),
    ("L4", "Loket 4 Imigrasi, Polres & Kemenag", ["IMI-PASPOR", "POL-SKCK", "KUA-NIKAH",
                                                   "HUK-LEGAL"]),
]

T = dt.time
# The reports' "served within the target wait" needs a target; the demo's own guess.
DEMO_TARGET_WAIT_MINUTES = 30  # est.
MINI_HOURS = {d: [(T(8), T(15))] for d in range(4)} | {4: [(T(8), T(11, 30))]}  # est.
INDUK_HOURS = {d: [(T(8), T(15))] for d in range(4)} | {4: [(T(8), T(11, 30))]}  # est.
# Tenants keep their own days: Imigrasi at the Induk Mon and Wed 08:00-12:00, 30 a day.
SERVICE_HOURS = {
    ("induk", "IMI-PASPOR"): ({0: [(T(8), T(12))], 2: [(T(8), T(12))]}, 30),
    ("mini", "IMI-PASPOR"): ({1: [(T(8), T(12))]}, 10),  # est.
    ("mini", "POL-SKCK"): (None, 20),  # est.
}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def load(password: str) -> None:
    """The demo, made by the verbs the admin pages use (so it obeys their rules), in one
    transaction; as seed data it writes no audit entry and no catalogue version."""
    now = dt.datetime.now(dt.timezone.utc)
    with write_transaction(), seed.seeding():
        if Site.select().exists():
            return
        for code, name in AGENCIES:
            catalogue.create_agency(audit.SYSTEM, now, code, name)
        for code, agency, prefix, mini, minutes, fee, name, reqs in SERVICES:
            catalogue.create_service(audit.SYSTEM, now, code, name=name, agency=agency,
                                     prefix=prefix, mini=mini, standard_minutes=minutes,
                                     fee=fee, requirements=reqs,
                                     target_wait_minutes=DEMO_TARGET_WAIT_MINUTES)
        sites = [_hall("induk", "MPP Induk Kutai Kartanegara", "induk", "64.02.06", "induk",
                       "Selamat datang di Mal Pelayanan Publik Kutai Kartanegara.", now)]
        for region, name, zone in KECAMATAN:
            sites.append(_hall(slug(name), f"Mini MPP {name}", "mini", region, zone,
                               f"Selamat datang di Mini MPP {name}. "
                               "Layanan gratis kecuali yang bertarif.", now))
        for site in sites:
            _equip(site, now)
        _accounts(password, sites, {code: name for code, name in AGENCIES})


def _hall(code, name, kind, region, zone, running_text, now) -> Site:
    site = halls.create_site(audit.SYSTEM, {"code": code, "name": name, "kind": kind,
                                            "region_code": region}, now)
    Site.update(zone=zone).where(Site.id == site.id).execute()  # the demo's own grouping
    return update_board(site, now, audit.SYSTEM, running_text=running_text)


def _equip(site: Site, now: dt.datetime) -> None:
    kind = site.kind
    windows = [{"weekday": weekday, "start": f"{opens:%H:%M}", "end": f"{closes:%H:%M}"}
               for weekday, hours in (INDUK_HOURS if kind == "induk" else MINI_HOURS).items()
               for opens, closes in hours]
    for code, _agency, _prefix, mini, *_rest in SERVICES:
        if kind == "mini" and mini == "no":
            continue
        own_hours, quota = SERVICE_HOURS.get((kind, code), (None, None))
        catalogue.set_offer(audit.SYSTEM, now, site, queueing.get_service(code), True,
                            daily_quota=quota)
        windows += [{"weekday": weekday, "start": f"{opens:%H:%M}",
                     "end": f"{closes:%H:%M}", "service": code}
                    for weekday, hours in (own_hours or {}).items() for opens, closes in hours]
    catalogue.set_hours(audit.SYSTEM, now, site, windows)
    layout = INDUK_COUNTERS if kind == "induk" else MINI_COUNTERS
    for number, (code, name, served) in enumerate(layout, start=1):
        counters.create_counter(audit.SYSTEM, site, {"code": code, "name": name,
                                                     "number": number,
                                                     "services": served}, now)
    # One kiosk per hall, printing through its browser (editable at the hall's devices).
    kiosks.save_kiosk(site, {"code": "k1", "name": "Kiosk 1", "print_mode": "browser-html",
                             "paper_width": 80}, actor=audit.SYSTEM, now=now)


def _accounts(password: str, sites: list[Site], agencies: dict) -> None:
    """The demo accounts, made by the one domain verb every account goes through.
    `demo=True` is the demo loader's alone: the shared demo password (`demo` unless
    DEMO_PASSWORD says otherwise) skips the password policy, hashed once for all 56
    accounts, and seed data writes no audit entry."""
    now = dt.datetime.now(dt.timezone.utc)

    def create(username, name, role, site=None, agency=None):
        users.create_user(audit.SYSTEM, now, username, name, role, site=site,
                          agency=agency, password=password, demo=True)

    create("admin", "Administrator", "admin")
    for site in sites:
        create(f"operator.{site.code}", f"Operator {site.name}", "operator", site=site.code)
        create(f"supervisor.{site.code}", f"Supervisor {site.name}", "supervisor",
               site=site.code)
    for code, agency_name in agencies.items():
        create(f"officer.{code}", f"Petugas {agency_name}", "officer", agency=code)
