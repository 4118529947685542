"""Hostile uploads, made here in the test: not-PDFs dressed as PDFs, PDFs that run
JavaScript or carry files, polyglots, broken images, and a photo with its GPS position
in EXIF. Refused with a 422 the operator understands, or stored clean."""
import io
import shutil

import pytest
from PIL import ExifTags, Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from app import create_app
from app.db import database
from app.domain import attachments
from app.errors import Invalid

from .casekit import jpeg_bytes, pdf_bytes, png_bytes
from .conftest import Api
from .test_cases_http import KEY, open_case, upload

MB = 5 * 1024 * 1024


def _write(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _js_action(script="app.alert('hai');"):
    return DictionaryObject({NameObject("/Type"): NameObject("/Action"),
                             NameObject("/S"): NameObject("/JavaScript"),
                             NameObject("/JS"): TextStringObject(script)})


def pdf_open_action_js() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(_js_action())
    return _write(writer)


def pdf_page_aa() -> bytes:
    """A page action on open (/AA /O) that is a Launch, not a script."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    launch = DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                               NameObject("/F"): TextStringObject("cmd.exe")})
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): launch})
    return _write(writer)


def pdf_embedded_file() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("surat.html", b"<script>alert(1)</script>")
    return _write(writer)


def pdf_file_attachment_annotation() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    annot = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0),
                                          NumberObject(10), NumberObject(10)]),
        NameObject("/FS"): TextStringObject("virus.exe")})
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(annot)])
    return _write(writer)


def pdf_escaped_names() -> bytes:
    """The script's names written with #xx escapes, so no raw '/JavaScript' is in the
    bytes: only the parse finds it."""
    data = pdf_open_action_js()
    data = data.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")
    assert b"/JavaScript" not in data and b"/JS" not in data
    return data


def pdf_goto_open_action() -> bytes:
    """An ordinary PDF that opens at its first page (a /GoTo action): accepted."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    writer._root_object[NameObject("/OpenAction")] = ArrayObject(
        [page.indirect_reference, NameObject("/Fit")])
    return _write(writer)


HTML_AS_PDF = (b"%PDF-1.4\n<html><body><script>fetch('/api/v1/cases')</script>"
               b"</body></html>\n%%EOF\n")
SVG_AS_PDF = (b'%PDF-1.7\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
              b"<text>x</text></svg>\n%%EOF")


def polyglot_html_after_eof() -> bytes:
    return pdf_bytes() + b"<html><script>alert(document.cookie)</script></html>"


def polyglot_html_in_head() -> bytes:
    data = pdf_bytes()
    return data[:9] + b"<html><script>alert(1)</script><!--" + data[9:] + b"-->"


def truncated_png() -> bytes:
    return png_bytes((400, 300))[:-200]


def truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(out, "JPEG")
    return out.getvalue()[: len(out.getvalue()) // 2]


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HP Rumah"
    exif[ExifTags.Base.Orientation] = 6  # to be turned upright, then dropped
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (0.0, 25.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 59.0, 24.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 120, 200)).save(out, "JPEG", exif=exif,
                                                    comment=b"Jl. Mawar 3 Tenggarong")
    return out.getvalue()


REFUSED = [
    ("html with a pdf header and trailer", HTML_AS_PDF, "invalid_file"),
    ("svg with a pdf header and trailer", SVG_AS_PDF, "invalid_file"),
    ("pdf running javascript on open", pdf_open_action_js, "unsafe_pdf"),
    ("pdf with escaped javascript names", pdf_escaped_names, "unsafe_pdf"),
    ("pdf page launching a program", pdf_page_aa, "unsafe_pdf"),
    ("pdf with an embedded file", pdf_embedded_file, "unsafe_pdf"),
    ("pdf with a file attachment annotation", pdf_file_attachment_annotation, "unsafe_pdf"),
    ("polyglot: html after %%EOF", polyglot_html_after_eof, "invalid_file"),
    ("polyglot: html in the head", polyglot_html_in_head, "invalid_file"),
    ("truncated png", truncated_png, "invalid_file"),
    ("truncated jpeg", truncated_jpeg, "invalid_file"),
]


@pytest.mark.parametrize("name,make,code", REFUSED, ids=[r[0] for r in REFUSED])
def test_hostile_file_is_refused(name, make, code):
    data = make() if callable(make) else make
    with pytest.raises(Invalid) as refused:
        attachments.clean_content(data, MB)
    assert refused.value.code == code, refused.value.message
    assert refused.value.status == 422


@pytest.mark.parametrize("make", [pdf_bytes, pdf_goto_open_action])
def test_ordinary_pdfs_pass_unchanged(make):
    data = make()
    assert attachments.clean_content(data, MB) == ("application/pdf", data)


def test_images_are_re_encoded_without_metadata():
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    kind, stored = attachments.clean_content(original, MB)
    assert kind == "image/jpeg" and stored != original
    assert b"Exif" not in stored and b"Mawar" not in stored and b"HP Rumah" not in stored
    with Image.open(io.BytesIO(stored)) as after:
        assert not after.getexif() and after.size == (20, 40)  # upright, then dropped
    kind, stored = attachments.clean_content(png_bytes() + b"trailing junk", MB)
    assert kind == "image/png" and not stored.endswith(b"trailing junk")
    assert attachments.clean_content(jpeg_bytes(), MB)[0] == "image/jpeg"


@pytest.mark.parametrize("name,make,code", [REFUSED[0], REFUSED[2], REFUSED[5], REFUSED[7]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_the_api_answers_422_and_stores_nothing(app, operator, name, make, code):
    case_code, _ = open_case(operator)
    data = make() if callable(make) else make
    r = upload(operator, case_code, data, "surat.pdf")
    assert r.status_code == 422 and r.json["error"]["code"] == code
    assert "tidak" in r.json["error"]["message"] or "bukan" in r.json["error"]["message"]
    stored = [p for p in app.config["ATTACHMENT_DIR"].rglob("*") if p.is_file()]
    assert stored == []


def test_the_photo_reaches_disk_and_download_without_gps(app, operator):
    case_code, _ = open_case(operator)
    r = upload(operator, case_code, jpeg_with_gps(), "foto.jpg")
    assert r.status_code == 201, r.json
    [path] = [p for p in app.config["ATTACHMENT_DIR"].rglob("*") if p.is_file()]
    on_disk = path.read_bytes()
    assert r.json["size"] == len(on_disk) and b"Exif" not in on_disk
    d = operator.get(f"/api/v1/cases/{case_code}/attachments/{r.json['id']}")
    assert d.status_code == 200 and d.data == on_disk
    d.close()
    with Image.open(io.BytesIO(on_disk)) as image:
        assert not image.getexif()


@pytest.fixture
def app(template_dir, tmp_path):
    """As in test_cases_http: a hall key, small upload caps."""
    from .servers import OPEN_MONDAY
    shutil.copy(template_dir / "mpp.sqlite3", tmp_path / "mpp.sqlite3")
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test",
                      "MPP_CLOCK_START": OPEN_MONDAY, "TESTING": True,
                      "SYNC_KEYS": f"tabang:{KEY}",
                      "UPLOAD_MAX_BYTES": str(3 * 1024 * 1024), "WTF_CSRF_ENABLED": False})
    database.connect(reuse_if_open=True)
    yield app
    if not database.is_closed():
        database.close()


@pytest.fixture
def operator(client):
    return Api(client).login("operator.tabang")
