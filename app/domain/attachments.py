"""Attachments of a case: scans and photos (PDF, JPEG, PNG), recognised by their content,
never by their name; stored under DATA_DIR/attachments with a generated name and their
SHA-256. A PDF is parsed (pypdf) and refused when it is not one or when it carries
JavaScript, actions, embedded files or media; an image is decoded whole (decompression
bombs and truncated files refused) and stored re-encoded from its pixels, so no EXIF
(GPS) or other metadata or trailing bytes reach the disk or the centre."""
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from ..clock import as_utc_naive
from ..db import write_transaction
from ..errors import Conflict, DomainError, Invalid, NotFound
from ..models import Case, CaseAttachment, User
from . import cases, link_rows

MAX_PIXELS = 40_000_000  # a 40-megapixel scan is already far more than a phone photo
KINDS = {  # content type -> file extension
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
}


class TooLarge(DomainError):
    status = 413
    code = "payload_too_large"


def sniff(data: bytes) -> str | None:
    """The content type from the first bytes, or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _decode_image(data: bytes) -> Image.Image:
    """The image fully decoded (a truncated or broken file fails here, not in a viewer),
    turned upright by its EXIF orientation; refused when its size would explode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise Invalid("Gambar terlalu besar (resolusi).", code="image_too_large")
                image.load()
                upright = ImageOps.exif_transpose(image)
                upright.load()
                return upright
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid("Gambar terlalu besar (resolusi).", code="image_too_large") from None
    except Invalid:
        raise
    except Exception:
        raise Invalid("Gambar rusak atau tidak dapat dibaca.", code="invalid_file") from None


def _reencode(image: Image.Image, kind: str) -> bytes:
    """The pixels alone in a fresh file: no EXIF (GPS, camera, owner), no comments or
    text chunks, no trailing bytes; the colour profile kept so colours stay true."""
    out = io.BytesIO()
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    image.info = {}  # Pillow writes a JPEG comment, XMP or PNG text it finds here
    if kind == "image/jpeg":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True, **extra)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=False, **extra)
    return out.getvalue()


# Keys that make a PDF act instead of show: scripts, actions run on open or on events,
# forms that submit or run XFA scripts, embedded files and media.
PDF_FORBIDDEN_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EmbeddedFile", "/EF",
                      "/XFA", "/RichMedia", "/RichMediaContent"}
PDF_FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE",
                         "/Rendition", "/RichMediaExecute"}
PDF_FORBIDDEN_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound"}
# Also looked for in the raw bytes, which reaches objects no reference leads to. Only long
# names: "/JS" or "/XFA" turn up by chance in a scan's compressed image data.
_PDF_RAW_MARKERS = (b"/JavaScript", b"/EmbeddedFile", b"/Launch", b"/RichMedia")
_PDF_LIMIT = 200_000  # objects walked; a scan has a few hundred


def _pdf_refuse(message: str, code: str = "unsafe_pdf"):
    raise Invalid(message, code=code)


def _walk_pdf(root) -> None:
    """Every object reachable from the trailer, indirect references resolved once;
    refused at the first key, action or annotation that is not plain content."""
    seen: set = set()
    stack = [root]
    walked = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        walked += 1
        if walked > _PDF_LIMIT:
            _pdf_refuse("PDF terlalu rumit untuk diperiksa.", code="invalid_file")
        if isinstance(item, DictionaryObject):  # a stream is one too
            keys = set(item.keys())
            if keys & PDF_FORBIDDEN_KEYS:
                bad = sorted(keys & PDF_FORBIDDEN_KEYS)[0]
                what = "lampiran di dalamnya" if "Embedded" in bad or bad == "/EF" else \
                    "JavaScript atau aksi otomatis"
                _pdf_refuse(f"PDF berisi {what} ({bad}); tidak diterima. Cetak ulang "
                            "sebagai PDF biasa atau pindai dokumennya.")
            if item.get("/S") in PDF_FORBIDDEN_ACTIONS:
                _pdf_refuse(f"PDF berisi aksi {item.get('/S')}; tidak diterima. Cetak ulang "
                            "sebagai PDF biasa atau pindai dokumennya.")
            if item.get("/Subtype") in PDF_FORBIDDEN_ANNOTATIONS:
                _pdf_refuse(f"PDF berisi anotasi {item.get('/Subtype')} (lampiran atau "
                            "media); tidak diterima.")
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _check_pdf(data: bytes) -> None:
    """A PDF that parses, has pages, ends at its last %%EOF, and carries no script,
    action on open or event, embedded file or media. Not-a-PDF (HTML or SVG between a
    PDF header and trailer) fails the parse."""
    end = data.rstrip(b"\x00\t\n\f\r ")
    if not end.endswith(b"%%EOF"):
        _pdf_refuse("Berkas PDF tidak lengkap, rusak, atau berisi data lain di belakangnya.",
                    code="invalid_file")
    if any(marker in data for marker in _PDF_RAW_MARKERS):
        _pdf_refuse("PDF berisi JavaScript, aksi otomatis atau lampiran di dalamnya; tidak "
                    "diterima. Cetak ulang sebagai PDF biasa atau pindai dokumennya.")
    head = data[:1024].lower()
    if any(tag in head for tag in (b"<html", b"<svg", b"<script", b"<!doctype", b"<?xml")):
        _pdf_refuse("Berkas ini bukan PDF (berisi HTML/SVG).", code="invalid_file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            _pdf_refuse("PDF terkunci kata sandi; kirim tanpa kata sandi.",
                        code="encrypted_pdf")
        if len(reader.pages) < 1:
            raise PdfReadError("no pages")
        _walk_pdf(reader.trailer)
    except Invalid:
        raise
    except Exception:  # pypdf raises many kinds (PdfReadError, ValueError...) on bad input
        _pdf_refuse("Berkas ini bukan PDF yang sah atau rusak.", code="invalid_file")


def check_content(data: bytes, max_bytes: int) -> str:
    """The accepted content type, or an error a person understands. Checks only (the
    centre checks again what a hall forwards, which is already clean)."""
    return _checked(data, max_bytes)[0]


def clean_content(data: bytes, max_bytes: int) -> tuple[str, bytes]:
    """The accepted content type and the bytes to store: a PDF as sent (parsed and found
    inert), an image re-encoded from its pixels without metadata."""
    kind, image = _checked(data, max_bytes)
    if image is None:
        return kind, data
    return kind, _reencode(image, kind)


def _checked(data: bytes, max_bytes: int) -> tuple[str, Image.Image | None]:
    if not data:
        raise Invalid("Berkas kosong.", code="empty_file")
    if len(data) > max_bytes:
        raise TooLarge(f"Berkas melebihi batas {max_bytes // (1024 * 1024)} MB.")
    kind = sniff(data)
    if kind is None:
        raise Invalid("Hanya PDF, JPEG atau PNG yang diterima.", code="unsupported_file")
    if kind == "application/pdf":
        _check_pdf(data)
        return kind, None
    return kind, _decode_image(data)


def display_name(filename) -> str:
    """Only for showing: the last path part, safe characters, bounded."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")[:100]
    return name or "lampiran"


def stored_path(store_dir: Path, stored_name: str) -> Path:
    return Path(store_dir) / stored_name[:2] / stored_name


def path_of(store_dir: Path, attachment: CaseAttachment) -> Path:
    return stored_path(store_dir, attachment.stored_name)


def _write_file(store_dir: Path, stored_name: str, data: bytes) -> Path:
    folder = Path(store_dir) / stored_name[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored_name
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def add_attachment(code: str, filename, data: bytes, now: dt.datetime, user: User,
                   store_dir: Path, max_bytes: int) -> CaseAttachment:
    """Check, store, and record an upload with its outbox message in one transaction.
    The file is written first under a fresh name; if the transaction fails it is removed."""
    case = cases.get_case(code)
    cases.require_hall_writer(user, case)
    kind, data = clean_content(data, max_bytes)
    uid = link_rows.new_uid()
    stored_name = f"{uid}.{KINDS[kind]}"
    digest = hashlib.sha256(data).hexdigest()
    path = _write_file(store_dir, stored_name, data)
    naive = as_utc_naive(now)
    try:
        with write_transaction():
            case = Case.get_by_id(case.id)
            if case.status == "picked_up":
                raise Conflict("Berkas sudah diambil; lampiran tidak dapat ditambah.",
                               code="invalid_transition")
            attachment = CaseAttachment.create(
                uid=uid, case=case, stored_name=stored_name,
                original_name=display_name(filename), content_type=kind, size=len(data),
                sha256=digest, uploaded_at=naive, uploaded_by=user.username)
            if link_rows.role() != "central":
                cases._outbox(case, "case.attachment", attachment_payload(attachment), naive)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


def attachment_payload(attachment: CaseAttachment) -> dict:
    """What goes up: the metadata and checksum; the bytes join it when it is sent."""
    return {"uid": attachment.uid, "name": attachment.original_name,
            "content_type": attachment.content_type, "size": attachment.size,
            "sha256": attachment.sha256, "uploaded_at": attachment.uploaded_at.isoformat(),
            "uploaded_by": attachment.uploaded_by}


def store_received(case: Case, meta: dict, data: bytes, store_dir: Path,
                   max_bytes: int) -> CaseAttachment:
    """At the centre, inside the receiving transaction: verify the checksum and the
    content again, store under a fresh name, record. Idempotent on the uid."""
    existing = CaseAttachment.get_or_none(CaseAttachment.uid == meta["uid"])
    if existing is not None:
        if existing.sha256 != meta["sha256"] or existing.case_id != case.id:
            raise Conflict("Lampiran dengan id yang sama berbeda isinya.",
                           code="message_conflict")
        return existing
    if hashlib.sha256(data).hexdigest() != meta["sha256"] or len(data) != meta["size"]:
        raise Invalid("Checksum lampiran tidak cocok.", code="checksum_mismatch")
    kind = check_content(data, max_bytes)
    if kind != meta["content_type"]:
        raise Invalid("Jenis lampiran tidak cocok.", code="unsupported_file")
    uid = meta["uid"]
    if not re.fullmatch(r"[0-9a-f]{32}", uid or ""):
        raise Invalid("Id lampiran tidak valid.", code="invalid_field")
    stored_name = f"{uid}.{KINDS[kind]}"
    # Written before the row: if the transaction rolls back, the retry of the same
    # message writes the same name with the same bytes.
    _write_file(store_dir, stored_name, data)
    return CaseAttachment.create(
        uid=uid, case=case, stored_name=stored_name,
        original_name=display_name(meta.get("name")), content_type=kind, size=len(data),
        sha256=meta["sha256"], uploaded_at=dt.datetime.fromisoformat(meta["uploaded_at"]),
        uploaded_by=str(meta.get("uploaded_by", ""))[:80])


def stored_file(store_dir: Path, case: Case, uid: str) -> tuple[Path, str, str]:
    """An attachment's file on this server, its content type and its download name."""
    attachment = get_attachment(case, uid)
    path = path_of(store_dir, attachment)
    if not path.is_file():
        raise NotFound("Isi lampiran belum tersedia di server ini.", code="attachment_missing")
    name = (f"{case.tracking_code}-{attachment.uid[:8]}."
            f"{KINDS[attachment.content_type]}")
    return path, attachment.content_type, name


def get_attachment(case: Case, uid: str) -> CaseAttachment:
    if not isinstance(uid, str) or not re.fullmatch(r"[0-9a-f]{32}", uid):
        raise NotFound("Lampiran tidak ditemukan.", code="unknown_attachment")
    attachment = CaseAttachment.get_or_none((CaseAttachment.uid == uid)
                                            & (CaseAttachment.case == case))
    if attachment is None:
        raise NotFound("Lampiran tidak ditemukan.", code="unknown_attachment")
    return attachment
