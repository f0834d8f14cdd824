"""Synthetic seller photos for the image tests and bench: KTP, KK and NPWP cards, selfies with a KTP,
and negatives (memes, product shots, news screenshots about a leak, plain faces, bank and
membership cards).

Ported from the research lab's generator (issue 15). Cards are drawn with Pillow in the DejaVu
fonts of Debian's fonts-dejavu-core and fonts-dejavu-extra; the only photos are sample images
that ship inside the scikit-image wheel (the astronaut is the selfie's face). Names are fake;
NIK, KK and NPWP numbers have valid structure against the rule layer's own validators (a real
kecamatan code, a real date, an NPWP check digit), since that is what the analysis must read.

Deterministic: each image has its own random.Random seeded from (seed, index), so the same
seed gives the same bytes and images do not depend on each other.
"""
from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageEnhance

FONT_DIR = "/usr/share/fonts/truetype/dejavu"

# --------------------------------------------------------------------------- fonts


_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """Return a cached DejaVu TrueType font, e.g. font("DejaVuSans-Bold", 30)."""
    key = (name, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(os.path.join(FONT_DIR, name + ".ttf"), size)
    return _font_cache[key]


# --------------------------------------------------------------------------- fake identities

# Real province codes (Kemendagri): first 2 NIK digits.
PROVINCES = {
    "11": "ACEH", "12": "SUMATERA UTARA", "13": "SUMATERA BARAT", "14": "RIAU", "15": "JAMBI",
    "16": "SUMATERA SELATAN", "17": "BENGKULU", "18": "LAMPUNG", "19": "KEPULAUAN BANGKA BELITUNG",
    "21": "KEPULAUAN RIAU", "31": "DKI JAKARTA", "32": "JAWA BARAT", "33": "JAWA TENGAH",
    "34": "DI YOGYAKARTA", "35": "JAWA TIMUR", "36": "BANTEN", "51": "BALI",
    "52": "NUSA TENGGARA BARAT", "53": "NUSA TENGGARA TIMUR", "61": "KALIMANTAN BARAT",
    "62": "KALIMANTAN TENGAH", "63": "KALIMANTAN SELATAN", "64": "KALIMANTAN TIMUR",
    "65": "KALIMANTAN UTARA", "71": "SULAWESI UTARA", "72": "SULAWESI TENGAH",
    "73": "SULAWESI SELATAN", "74": "SULAWESI TENGGARA", "75": "GORONTALO",
    "76": "SULAWESI BARAT", "81": "MALUKU", "82": "MALUKU UTARA", "91": "PAPUA BARAT", "94": "PAPUA",
}
REGENCIES = ["KOTA JAKARTA SELATAN", "KABUPATEN BOGOR", "KOTA BANDUNG", "KABUPATEN SLEMAN",
             "KOTA SURABAYA", "KABUPATEN GIANYAR", "KOTA MAKASSAR", "KABUPATEN SIDOARJO",
             "KOTA MEDAN", "KABUPATEN BANYUMAS", "KOTA SEMARANG", "KABUPATEN TANGERANG"]
FIRST_M = ["BUDI", "AGUS", "RIZKY", "DEDI", "ANDI", "HENDRA", "BAYU", "FAJAR", "IWAN", "YOGA", "ARIF", "TAUFIK"]
FIRST_F = ["SITI", "DEWI", "RINA", "AYU", "PUTRI", "INDAH", "WULAN", "NUR", "LESTARI", "MAYA", "FITRI", "RATNA"]
LAST = ["SANTOSO", "WIJAYA", "SAPUTRA", "PRATAMA", "HIDAYAT", "KURNIAWAN", "LESTARI", "NURHALIZA",
        "SETIAWAN", "RAHMAWATI", "GUNAWAN", "SIREGAR", "NASUTION", "HARAHAP", "SUSANTI"]
STREETS = ["JL. MAWAR", "JL. MELATI", "JL. KENANGA", "JL. MERDEKA", "JL. SUDIRMAN", "GG. DAMAI",
           "JL. DIPONEGORO", "JL. PAHLAWAN", "JL. CEMPAKA PUTIH"]
KEL = ["KEBAYORAN", "CIBUBUR", "SUKAJADI", "MENTENG", "TEBET", "CONDONGCATUR", "DARMO", "UBUD"]
KEC = ["KEBAYORAN BARU", "CIRACAS", "SUKASARI", "MENTENG", "TEBET", "DEPOK", "WONOKROMO", "UBUD"]
AGAMA = ["ISLAM", "KRISTEN", "KATHOLIK", "HINDU", "BUDDHA", "KONGHUCU"]
KAWIN = ["KAWIN", "BELUM KAWIN", "CERAI HIDUP"]
KERJA = ["KARYAWAN SWASTA", "PELAJAR/MAHASISWA", "WIRASWASTA", "PEGAWAI NEGERI SIPIL",
         "MENGURUS RUMAH TANGGA", "PETANI/PEKEBUN", "GURU"]
DIDIK = ["SLTA/SEDERAJAT", "DIPLOMA IV/STRATA I", "SLTP/SEDERAJAT", "TAMAT SD/SEDERAJAT"]


@dataclass
class Person:
    """A fake person with a format-valid NIK."""
    name: str
    female: bool
    birth: date
    place: str
    nik: str
    blood: str
    religion: str


@cache
def kecamatan_codes() -> tuple[str, ...]:
    """Real six-digit kecamatan codes (the rule layer's list) of the provinces named above."""
    from rules.identifiers import region_codes

    return tuple(sorted(c for c in region_codes() if c[:2] in PROVINCES))


def make_region(rng: random.Random, province: str | None = None) -> str:
    """A real kecamatan code, in `province` if given."""
    codes = [c for c in kecamatan_codes() if province is None or c.startswith(province)]
    return rng.choice(codes)


def make_nik(rng: random.Random, birth: date, female: bool, region: str | None = None) -> str:
    """Return a valid NIK: kecamatan code, DDMMYY birth date (day + 40 for women), serial."""
    region = region or make_region(rng)
    day = birth.day + (40 if female else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 999):04d}"


def make_person(rng: random.Random, region: str | None = None, min_age: int = 18) -> Person:
    """Random fake adult (or child if min_age=0) with consistent NIK."""
    female = rng.random() < 0.5
    first = rng.choice(FIRST_F if female else FIRST_M)
    birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 365 * (62 - min_age)))
    p = Person(name=f"{first} {rng.choice(LAST)}", female=female, birth=birth,
               place=rng.choice(["JAKARTA", "BANDUNG", "SURABAYA", "MEDAN", "BOGOR", "SLEMAN", "DENPASAR"]),
               nik="", blood=rng.choice(["A", "B", "AB", "O", "-"]), religion=rng.choice(AGAMA))
    p.nik = make_nik(rng, birth, female, region)
    return p


def make_kk_number(rng: random.Random, region: str) -> str:
    """KK number: 6-digit region + DDMMYY issue date + 4-digit serial."""
    d = date(2005, 1, 1) + timedelta(days=rng.randint(0, 6000))
    return f"{region}{d.day:02d}{d.month:02d}{d.year % 100:02d}{rng.randint(1, 9999):04d}"


def make_npwp(rng: random.Random) -> str:
    """15-digit NPWP formatted 99.999.999.9-999.999, with its Luhn check digit in 9th place."""
    from stdnum import luhn

    head = "".join(str(rng.randint(0, 9)) for _ in range(8))
    d = head + luhn.calc_check_digit(head) + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return f"{d[0:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:15]}"


def luhn_card(rng: random.Random, prefix: str) -> str:
    """Luhn-valid 16-digit payment-card number starting with prefix."""
    digits = [int(c) for c in prefix] + [rng.randint(0, 9) for _ in range(15 - len(prefix))]
    total = 0
    for i, dgt in enumerate(reversed(digits)):
        if i % 2 == 0:
            dgt *= 2
            dgt = dgt - 9 if dgt > 9 else dgt
        total += dgt
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


# --------------------------------------------------------------------------- drawing helpers


def gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int],
             horizontal: bool = False) -> Image.Image:
    """Linear RGB gradient image."""
    w, h = size
    n = w if horizontal else h
    t = np.linspace(0, 1, n)[:, None]
    line = (np.array(top)[None, :] * (1 - t) + np.array(bottom)[None, :] * t).astype(np.uint8)
    arr = np.repeat(line[None, :, :], h, 0) if horizontal else np.repeat(line[:, None, :], w, 1)
    return Image.fromarray(arr, "RGB")


def guilloche(draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random,
              color: tuple[int, int, int], n: int = 14) -> None:
    """Faint wavy security lines, like the background print of ID cards."""
    w, h = size
    for k in range(n):
        amp, per, ph = rng.uniform(8, 30), rng.uniform(80, 260), rng.uniform(0, 6.3)
        y0 = h * (k + 0.5) / n
        pts = [(x, y0 + amp * math.sin(x / per * 6.283 + ph)) for x in range(0, w + 10, 10)]
        draw.line(pts, fill=color, width=1)


def photo_box(img: Image.Image, box: tuple[int, int, int, int], rng: random.Random, female: bool) -> None:
    """A red/blue passport-photo placeholder with a crude head-and-shoulders silhouette."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    d.rectangle(box, fill=rng.choice([(200, 40, 40), (40, 80, 190)]))
    cx, w, h = (x0 + x1) // 2, x1 - x0, y1 - y0
    d.ellipse((cx - w * 0.42, y0 + h * 0.62, cx + w * 0.42, y1 + h * 0.35), fill=(30, 30, 40))
    d.ellipse((cx - w * 0.22, y0 + h * 0.16, cx + w * 0.22, y0 + h * 0.62), fill=(215, 170, 130))
    if female:
        d.pieslice((cx - w * 0.26, y0 + h * 0.1, cx + w * 0.26, y0 + h * 0.5), 180, 360, fill=(20, 20, 20))


def signature(d: ImageDraw.ImageDraw, x: int, y: int, w: int, rng: random.Random) -> None:
    """A scribble that looks like a signature."""
    pts, px = [], x
    while px < x + w:
        pts.append((px, y + rng.uniform(-12, 12)))
        px += rng.uniform(6, 16)
    d.line(pts, fill=(20, 20, 60), width=2)


# --------------------------------------------------------------------------- documents

KTP_SIZE = (1012, 638)          # ID-1 card ratio 85.6 x 54 mm


def draw_ktp(rng: random.Random) -> tuple[Image.Image, dict]:
    """e-KTP-like card. Returns (image, truth) with truth['nik']."""
    pcode = rng.choice(list(PROVINCES))
    region = make_region(rng, pcode)
    p = make_person(rng, region)
    w, h = KTP_SIZE
    img = gradient(KTP_SIZE, (196, 226, 246), (150, 200, 236))
    d = ImageDraw.Draw(img)
    guilloche(d, KTP_SIZE, rng, (170, 205, 230))
    hb = font("DejaVuSans-Bold", 30)
    d.text((w / 2, 34), f"PROVINSI {PROVINCES[pcode]}", font=hb, fill=(0, 0, 0), anchor="mm")
    d.text((w / 2, 72), rng.choice(REGENCIES), font=hb, fill=(0, 0, 0), anchor="mm")
    lab, val = font("DejaVuSans", 23), font("DejaVuSansCondensed-Bold", 23)
    x0, xc, xv, y = 28, 262, 282, 110
    d.text((x0, y), "NIK", font=font("DejaVuSans-Bold", 34), fill=(0, 0, 0))
    d.text((xc - 20, y), ":", font=font("DejaVuSans-Bold", 34), fill=(0, 0, 0))
    d.text((xc, y), p.nik, font=font("DejaVuSansMono-Bold", 36), fill=(0, 0, 0))
    rows = [
        ("Nama", p.name),
        ("Tempat/Tgl Lahir", f"{p.place}, {p.birth:%d-%m-%Y}"),
        ("Jenis Kelamin", ("PEREMPUAN" if p.female else "LAKI-LAKI") + f"     Gol. Darah : {p.blood}"),
        ("Alamat", f"{rng.choice(STREETS)} NO. {rng.randint(1, 150)}"),
        ("     RT/RW", f"{rng.randint(1, 15):03d}/{rng.randint(1, 12):03d}"),
        ("     Kel/Desa", rng.choice(KEL)),
        ("     Kecamatan", rng.choice(KEC)),
        ("Agama", p.religion),
        ("Status Perkawinan", rng.choice(KAWIN)),
        ("Pekerjaan", rng.choice(KERJA)),
        ("Kewarganegaraan", "WNI"),
        ("Berlaku Hingga", "SEUMUR HIDUP"),
    ]
    y = 162
    for label, value in rows:
        d.text((x0, y), label, font=lab, fill=(0, 0, 0))
        d.text((xc - 14, y), ":", font=lab, fill=(0, 0, 0))
        d.text((xv - 6, y), value, font=val, fill=(0, 0, 0))
        y += 37
    photo_box(img, (760, 140, 970, 420), rng, p.female)
    small = font("DejaVuSans", 19)
    d.text((865, 445), rng.choice(REGENCIES).replace("KABUPATEN ", "").replace("KOTA ", ""), font=small,
           fill=(0, 0, 0), anchor="mm")
    d.text((865, 470), f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(2012, 2022)}",
           font=small, fill=(0, 0, 0), anchor="mm")
    signature(d, 790, 530, 150, rng)
    return img, {"nik": p.nik, "name": p.name}


def draw_kk(rng: random.Random) -> tuple[Image.Image, dict]:
    """Kartu Keluarga-like landscape form with a member table. truth: kk_no, niks."""
    pcode = rng.choice(list(PROVINCES))
    region = make_region(rng, pcode)
    kk_no = make_kk_number(rng, region)
    head = make_person(rng, region, min_age=25)
    members = [head] + [make_person(rng, region, min_age=0) for _ in range(rng.randint(2, 4))]
    W, H = 1600, 1000
    img = gradient((W, H), (250, 250, 244), (236, 242, 232))
    d = ImageDraw.Draw(img)
    guilloche(d, (W, H), rng, (225, 232, 220), n=20)
    d.ellipse((60, 30, 170, 140), outline=(120, 90, 30), width=4)          # "garuda" seal
    d.text((W / 2, 70), "KARTU KELUARGA", font=font("DejaVuSans-Bold", 56), fill=(0, 0, 0), anchor="mm")
    d.text((W / 2, 130), f"No. {kk_no}", font=font("DejaVuSans-Bold", 40), fill=(0, 0, 0), anchor="mm")
    f = font("DejaVuSans", 24)
    left = [("Nama Kepala Keluarga", head.name),
            ("Alamat", f"{rng.choice(STREETS)} NO. {rng.randint(1, 150)}"),
            ("RT/RW", f"{rng.randint(1, 15):03d}/{rng.randint(1, 12):03d}"),
            ("Kode Pos", f"{rng.randint(10000, 99999)}")]
    right = [("Desa/Kelurahan", rng.choice(KEL)), ("Kecamatan", rng.choice(KEC)),
             ("Kabupaten/Kota", rng.choice(REGENCIES).replace("KABUPATEN ", "").replace("KOTA ", "")),
             ("Provinsi", PROVINCES[pcode])]
    for i, (a, b) in enumerate(left):
        d.text((60, 190 + 40 * i), a, font=f, fill=(0, 0, 0))
        d.text((360, 190 + 40 * i), f": {b}", font=f, fill=(0, 0, 0))
    for i, (a, b) in enumerate(right):
        d.text((880, 190 + 40 * i), a, font=f, fill=(0, 0, 0))
        d.text((1110, 190 + 40 * i), f": {b}", font=f, fill=(0, 0, 0))
    cols = [("No", 50), ("Nama Lengkap", 290), ("NIK", 270), ("Jenis Kelamin", 170),
            ("Tempat Lahir", 170), ("Tanggal Lahir", 160), ("Agama", 120), ("Pendidikan", 250)]
    x, ty, rh = 40, 380, 52
    fh, fc = font("DejaVuSans-Bold", 19), font("DejaVuSansCondensed", 20)
    total_w = sum(c[1] for c in cols)
    d.rectangle((x, ty, x + total_w, ty + rh * (len(members) + 1)), outline=(0, 0, 0), width=2)
    for r in range(len(members) + 1):
        d.line((x, ty + rh * r, x + total_w, ty + rh * r), fill=(0, 0, 0), width=1)
    cx = x
    for name, cw in cols:
        d.text((cx + cw / 2, ty + rh / 2), name, font=fh, fill=(0, 0, 0), anchor="mm")
        cx += cw
        d.line((cx, ty, cx, ty + rh * (len(members) + 1)), fill=(0, 0, 0), width=1)
    for i, m in enumerate(members, 1):
        vals = [str(i), m.name, m.nik, "PEREMPUAN" if m.female else "LAKI-LAKI", m.place,
                f"{m.birth:%d-%m-%Y}", m.religion, rng.choice(DIDIK)]
        cx = x
        for (name, cw), v in zip(cols, vals):
            d.text((cx + 8, ty + rh * i + rh / 2), v, font=fc, fill=(0, 0, 0), anchor="lm")
            cx += cw
    d.text((60, H - 120), f"Dikeluarkan Tanggal : {rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-2019",
           font=f, fill=(0, 0, 0))
    d.text((W - 560, H - 160), "KEPALA DINAS KEPENDUDUKAN DAN", font=font("DejaVuSans", 20), fill=(0, 0, 0))
    d.text((W - 560, H - 134), "PENCATATAN SIPIL", font=font("DejaVuSans", 20), fill=(0, 0, 0))
    signature(d, W - 520, H - 70, 200, rng)
    return img, {"kk_no": kk_no, "niks": [m.nik for m in members], "nik": head.nik}


def draw_npwp(rng: random.Random) -> tuple[Image.Image, dict]:
    """NPWP-card-like image. truth: npwp (formatted), nik."""
    p = make_person(rng)
    npwp = make_npwp(rng)
    w, h = KTP_SIZE
    img = gradient(KTP_SIZE, (246, 246, 240), (214, 220, 214), horizontal=True)
    d = ImageDraw.Draw(img)
    guilloche(d, KTP_SIZE, rng, (222, 226, 218), n=10)
    d.rectangle((0, 0, w, 130), fill=(255, 200, 40) if rng.random() < 0.5 else (240, 240, 235))
    d.ellipse((24, 14, 124, 114), fill=(30, 60, 140))
    d.text((74, 64), "DJP", font=font("DejaVuSans-Bold", 28), fill=(255, 255, 255), anchor="mm")
    hf = font("DejaVuSans-Bold", 27)
    d.text((150, 22), "KEMENTERIAN KEUANGAN REPUBLIK INDONESIA", font=hf, fill=(10, 30, 90))
    d.text((150, 72), "DIREKTORAT JENDERAL PAJAK", font=hf, fill=(10, 30, 90))
    d.text((40, 170), "NPWP", font=font("DejaVuSans-Bold", 44), fill=(0, 0, 0))
    d.text((200, 166), f": {npwp}", font=font("DejaVuSansMono-Bold", 46), fill=(0, 0, 0))
    f = font("DejaVuSans-Bold", 30)
    d.text((40, 260), p.name, font=f, fill=(0, 0, 0))
    d.text((40, 310), f"NIK : {p.nik}", font=font("DejaVuSansMono-Bold", 30), fill=(0, 0, 0))
    fs = font("DejaVuSans", 24)
    d.text((40, 370), f"{rng.choice(STREETS)} NO. {rng.randint(1, 150)} RT {rng.randint(1, 15):03d} "
                      f"RW {rng.randint(1, 12):03d}", font=fs, fill=(0, 0, 0))
    d.text((40, 405), f"{rng.choice(KEL)}, {rng.choice(KEC)}", font=fs, fill=(0, 0, 0))
    d.text((40, 440), rng.choice(REGENCIES), font=fs, fill=(0, 0, 0))
    d.text((40, 520), f"KPP PRATAMA {rng.choice(['JAKARTA TEBET', 'BANDUNG KAREES', 'SURABAYA RUNGKUT', 'DENPASAR TIMUR'])}",
           font=font("DejaVuSans", 22), fill=(0, 0, 0))
    d.text((40, 560), f"Tanggal Terdaftar : {rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2008, 2022)}",
           font=font("DejaVuSans", 22), fill=(0, 0, 0))
    return img, {"npwp": npwp, "nik": p.nik}


# --------------------------------------------------------------------------- negatives


def skimage_photo(name: str) -> Image.Image:
    """Load a bundled skimage sample image (no network: only files that ship in the wheel)."""
    from skimage import data
    arr = getattr(data, name)()
    if arr.dtype == bool:                       # e.g. data.horse() is a boolean mask
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    return Image.fromarray(arr[..., :3].astype(np.uint8), "RGB")


MEME_PHOTOS = ["chelsea", "coffee", "rocket", "astronaut", "camera", "horse", "coins"]
MEME_TOP = ["KETIKA GAJIAN MASIH LAMA", "POV: KAMU LUPA BAWA KTP", "SAAT DOSEN BILANG", "AKU KALAU LAPAR",
            "WAKTU LIAT FOTO KTP SENDIRI", "NIK KAMU BOCOR?", "MAU DATA? NGGAK ADA"]
MEME_BOT = ["TAPI BOONG", "SANTUY AJA", "AUTO NANGIS", "YA SUDAH LAH", "KOK GITU SIH", "DATANYA APA"]


def draw_meme(rng: random.Random) -> tuple[Image.Image, dict]:
    """Photo + big white outlined caption (DejaVuSans-Bold stands in for Impact)."""
    photo = rng.choice(MEME_PHOTOS)
    img = skimage_photo(photo).resize((800, 600)).convert("RGB")
    d = ImageDraw.Draw(img)
    f = font("DejaVuSans-Bold", 52)
    for text, y in ((rng.choice(MEME_TOP), 50), (rng.choice(MEME_BOT), 550)):
        size = 52
        while d.textlength(text, font=font("DejaVuSans-Bold", size)) > 760:
            size -= 2
        f = font("DejaVuSans-Bold", size)
        d.text((400, y), text, font=f, fill=(255, 255, 255), anchor="mm", stroke_width=4, stroke_fill=(0, 0, 0))
    return img, {"photo": photo}


def draw_product(rng: random.Random) -> tuple[Image.Image, dict]:
    """Online-shop product shot: gradient, shapes, DISKON / price / phone number text."""
    W, H = 900, 900
    c1 = tuple(rng.randint(150, 255) for _ in range(3))
    c2 = tuple(rng.randint(40, 200) for _ in range(3))
    img = gradient((W, H), c1, c2)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(2, 5)):
        x, y, r = rng.randint(150, 750), rng.randint(250, 750), rng.randint(60, 200)
        col = tuple(rng.randint(0, 255) for _ in range(3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)((x - r, y - r, x + r, y + r), fill=col)
    d.rectangle((0, 0, W, 150), fill=(220, 20, 40))
    d.text((W / 2, 75), f"DISKON {rng.choice([20, 30, 50, 70])}%", font=font("DejaVuSans-Bold", 80),
           fill=(255, 255, 255), anchor="mm")
    d.text((40, H - 140), f"Rp {rng.randint(20, 900)}.000", font=font("DejaVuSans-Bold", 60), fill=(0, 0, 0),
           stroke_width=2, stroke_fill=(255, 255, 255))
    d.text((40, H - 60), f"GRATIS ONGKIR  WA 08{rng.randint(11, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
           font=font("DejaVuSans-Bold", 32), fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return img, {}


NEWS_HEAD = ["Data 279 Juta Penduduk Diduga Bocor, NIK dan KTP Dijual di Forum",
             "Kemendagri Bantah Data Dukcapil Bocor, Minta Warga Tidak Panik",
             "Direktorat Jenderal Pajak Selidiki Dugaan Kebocoran Data NPWP",
             "Waspada Penipuan Pinjol Pakai Foto KTP dan Kartu Keluarga Curian"]
NEWS_BODY = (
    "JAKARTA - Sebuah akun di forum peretas mengklaim menjual data pribadi warga Indonesia yang "
    "berisi NIK, nama lengkap, alamat, nomor Kartu Keluarga, dan foto KTP elektronik. Data bocor "
    "tersebut diduga berasal dari sistem milik instansi pemerintah di tingkat provinsi dan "
    "kabupaten/kota. Direktur Jenderal Kependudukan dan Pencatatan Sipil menyatakan pihaknya masih "
    "menelusuri sumber kebocoran. Menurut pakar keamanan siber, sampel data yang dibagikan memuat "
    "kolom NIK 16 digit, tempat tanggal lahir, jenis kelamin, agama, status perkawinan dan pekerjaan. "
    "Masyarakat diminta tidak mengunggah foto KTP, KK, atau NPWP ke media sosial. Direktorat Jenderal "
    "Pajak Kementerian Keuangan juga mengimbau wajib pajak untuk segera mengganti kata sandi akun "
    "DJP Online. Polisi menyebut pelaku menawarkan data tersebut seharga Rp 50 juta per paket dan "
    "menerima pembayaran dengan mata uang kripto. Kasus ini menambah panjang daftar kebocoran data "
    "di Indonesia sepanjang tahun ini.")


def wrap(d: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to a pixel width."""
    lines, cur = [], ""
    for word in text.split():
        trial = (cur + " " + word).strip()
        if d.textlength(trial, font=f) > width and cur:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return lines + ([cur] if cur else [])


def draw_news(rng: random.Random) -> tuple[Image.Image, dict]:
    """Screenshot of a news article about a data leak (mentions NIK, KTP, KK, NPWP, DJP)."""
    W, H = 1080, 1500
    img = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, W, 70), fill=(235, 235, 235))
    d.rounded_rectangle((120, 14, W - 40, 56), 18, fill=(255, 255, 255))
    d.text((150, 35), f"https://www.beritakini{rng.randint(1, 9)}.co.id/tekno/data-bocor", font=font("DejaVuSans", 22),
           fill=(60, 60, 60), anchor="lm")
    d.rectangle((0, 70, W, 150), fill=rng.choice([(180, 0, 0), (0, 60, 140), (20, 20, 20)]))
    d.text((40, 110), "BERITAKINI", font=font("DejaVuSans-Bold", 40), fill=(255, 255, 255), anchor="lm")
    y = 190
    for line in wrap(d, rng.choice(NEWS_HEAD), font("DejaVuSerif-Bold", 46), W - 80):
        d.text((40, y), line, font=font("DejaVuSerif-Bold", 46), fill=(0, 0, 0))
        y += 60
    d.text((40, y + 10), f"Senin, {rng.randint(1, 28)} Juli 2024 | 10:{rng.randint(10, 59)} WIB",
           font=font("DejaVuSans", 22), fill=(110, 110, 110))
    y += 60
    # an illustration block with a blurred, unreadable card -> just a grey box with caption
    d.rectangle((40, y, W - 40, y + 360), fill=(200, 205, 210))
    d.text((W / 2, y + 180), "ilustrasi", font=font("DejaVuSans", 30), fill=(120, 120, 120), anchor="mm")
    y += 390
    fb = font("DejaVuSerif", 28)
    for line in wrap(d, NEWS_BODY, fb, W - 80):
        if y > H - 50:
            break
        d.text((40, y), line, font=fb, fill=(30, 30, 30))
        y += 42
    return img, {}


def draw_bank_card(rng: random.Random) -> tuple[Image.Image, dict]:
    """Debit/credit card with a Luhn-valid 16-digit number (NOT an NIK)."""
    w, h = KTP_SIZE
    c1 = tuple(rng.randint(0, 90) for _ in range(3))
    c2 = tuple(rng.randint(60, 180) for _ in range(3))
    img = gradient(KTP_SIZE, c1, c2, horizontal=True)
    d = ImageDraw.Draw(img)
    d.text((50, 50), rng.choice(["BANK NUSANTARA", "BANK MERDEKA", "BANK SENTOSA"]), font=font("DejaVuSans-Bold", 44),
           fill=(255, 255, 255))
    d.text((w - 60, 60), rng.choice(["DEBIT", "PLATINUM", "GOLD"]), font=font("DejaVuSans-Bold", 34),
           fill=(230, 230, 230), anchor="ra")
    d.rounded_rectangle((80, 200, 210, 300), 14, fill=(212, 180, 90))
    num = "4111111111111111" if rng.random() < 0.3 else luhn_card(rng, rng.choice(["4", "51", "52", "37"]))
    num = num[:16].ljust(16, "0")
    d.text((70, 350), " ".join(num[i:i + 4] for i in range(0, 16, 4)), font=font("DejaVuSansMono-Bold", 58),
           fill=(245, 245, 245))
    d.text((70, 450), f"VALID THRU {rng.randint(1, 12):02d}/{rng.randint(25, 31)}", font=font("DejaVuSans", 26),
           fill=(240, 240, 240))
    d.text((70, 520), make_person(rng).name, font=font("DejaVuSans-Bold", 36), fill=(250, 250, 250))
    d.ellipse((w - 210, h - 150, w - 130, h - 70), fill=(235, 0, 27))
    d.ellipse((w - 160, h - 150, w - 80, h - 70), fill=(247, 158, 27))
    return img, {"card_no": num}


def draw_member_card(rng: random.Random) -> tuple[Image.Image, dict]:
    """KARTU ANGGOTA (coop/gym/library). Shares labels Nama/Alamat with KTP; 1/3 also show an NIK row."""
    w, h = KTP_SIZE
    img = gradient(KTP_SIZE, (255, 240, 210), (250, 210, 160))
    d = ImageDraw.Draw(img)
    org = rng.choice(["KOPERASI SEJAHTERA BERSAMA", "PERPUSTAKAAN DAERAH", "FITNESS CENTER SEHAT",
                      "IKATAN ALUMNI SMA 3"])
    d.text((w / 2, 50), "KARTU ANGGOTA", font=font("DejaVuSans-Bold", 46), fill=(90, 30, 0), anchor="mm")
    d.text((w / 2, 105), org, font=font("DejaVuSans-Bold", 28), fill=(90, 30, 0), anchor="mm")
    p = make_person(rng)
    rows = [("No. Anggota", f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"), ("Nama", p.name),
            ("Alamat", f"{rng.choice(STREETS)} NO. {rng.randint(1, 150)}"),
            ("Berlaku s/d", f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(2025, 2030)}")]
    truth = {}
    if rng.random() < 1 / 3:
        rows.insert(2, ("NIK", p.nik))
        truth["nik"] = p.nik
    f = font("DejaVuSans", 28)
    for i, (a, b) in enumerate(rows):
        d.text((40, 190 + 60 * i), a, font=f, fill=(0, 0, 0))
        d.text((260, 190 + 60 * i), f": {b}", font=font("DejaVuSans-Bold", 28), fill=(0, 0, 0))
    photo_box(img, (780, 180, 960, 420), rng, p.female)
    return img, truth


# --------------------------------------------------------------------------- "photographed" conditions


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Table/desk-like textured background."""
    base = np.array([rng.randint(40, 200) for _ in range(3)], dtype=np.float32)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 12, (size[1] // 8 + 1, size[0] // 8 + 1, 1))
    arr = np.clip(base + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").resize(size, Image.BILINEAR)


def place_on_background(card: Image.Image, rng: random.Random, angle: float, persp: float,
                        margin: float = 0.12) -> Image.Image:
    """Paste card on a desk, rotate by angle degrees and apply a perspective warp of strength persp (0..0.1)."""
    import cv2
    w, h = card.size
    mw, mh = int(w * margin) + 40, int(h * margin) + 40
    canvas = _background((w + 2 * mw, h + 2 * mh), rng)
    canvas.paste(card, (mw, mh))
    arr = np.array(canvas)
    W, H = canvas.size
    src = np.float32([[mw, mh], [mw + w, mh], [mw + w, mh + h], [mw, mh + h]])
    jit = lambda: rng.uniform(-persp, persp)                              # noqa: E731
    dst = np.float32([[x + jit() * w, y + jit() * h] for x, y in src])
    M = cv2.getPerspectiveTransform(src, dst)
    R = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    M = np.vstack([R, [0, 0, 1]]) @ M
    border = tuple(int(c) for c in arr[2, 2])
    out = cv2.warpPerspective(arr, M, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=border)
    return Image.fromarray(out)


def degrade(img: Image.Image, rng: random.Random, level: int, target_w: int | None = None) -> tuple[Image.Image, list[str], int]:
    """Apply photo-like degradations; level 0 = clean scan, 1 = mild phone photo, 2 = hard.

    Returns (image, list of applied conditions, jpeg_quality)."""
    cond: list[str] = []
    if level >= 1:
        s = rng.uniform(0.4, 0.9) if level == 1 else rng.uniform(1.0, 1.6)
        img = img.filter(ImageFilter.GaussianBlur(s))
        cond.append(f"blur{s:.1f}")
    if level == 2 or (level == 1 and rng.random() < 0.4):
        b, c = rng.uniform(0.45, 0.75), rng.uniform(0.5, 0.8)
        img = ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(b)).enhance(c)
        cond.append(f"dark{b:.2f}/contrast{c:.2f}")
    if level >= 1:
        sd = rng.uniform(3, 8) if level == 1 else rng.uniform(8, 16)
        arr = np.asarray(img).astype(np.float32)
        arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, sd, arr.shape)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        cond.append(f"noise{sd:.0f}")
    tw = target_w or {0: rng.randint(1100, 1400), 1: rng.randint(800, 1000), 2: 640}[level]
    if img.width > tw:
        img = img.resize((tw, round(img.height * tw / img.width)), Image.LANCZOS)
        cond.append(f"w{tw}")
    q = {0: 90, 1: rng.randint(45, 70), 2: rng.randint(20, 40)}[level]
    cond.append(f"jpeg{q}")
    return img, cond, q


def photograph(card: Image.Image, rng: random.Random, level: int) -> tuple[Image.Image, list[str], int]:
    """Full "seller took a phone photo" pipeline: desk, rotation, perspective, degradations."""
    if level == 0:
        angle, persp = rng.uniform(-1, 1), 0.0
    elif level == 1:
        angle, persp = rng.choice([-1, 1]) * rng.uniform(3, 7), 0.03
    else:
        angle, persp = rng.choice([-1, 1]) * rng.uniform(8, 15), 0.06
    img = place_on_background(card, rng, angle, persp)
    img, cond, q = degrade(img, rng, level)
    return img, [f"rot{angle:+.1f}", f"persp{persp:.2f}"] + cond, q


def selfie_with_card(rng: random.Random, level: int) -> tuple[Image.Image, dict, list[str], int]:
    """skimage astronaut (face) + a small KTP held below/next to the face."""
    base = skimage_photo("astronaut").resize((1024, 1024), Image.BICUBIC)
    if rng.random() < 0.5:
        base = base.transpose(Image.FLIP_LEFT_RIGHT)
    card, truth = draw_ktp(rng)
    cw = int(1024 * rng.uniform(0.50, 0.66))
    card = card.resize((cw, round(cw * card.height / card.width)), Image.LANCZOS)
    angle = rng.choice([-1, 1]) * rng.uniform(3, 15)
    card = card.convert("RGBA").rotate(angle, resample=Image.BICUBIC, expand=True)
    # face of the astronaut is around x 330..650, y 100..480 (in 1024 px); hold the card lower.
    x = rng.randint(0, 1024 - card.width)
    y = rng.randint(520, max(521, 1024 - card.height + 40))
    base.paste(card, (x, y), card)
    img, cond, q = degrade(base, rng, min(level, 1), target_w=rng.randint(720, 1024))
    return img, truth, [f"card_w{cw}", f"card_rot{angle:+.1f}"] + cond, q


def plain_face(rng: random.Random) -> tuple[Image.Image, dict, list[str], int]:
    """Astronaut (or skimage 'camera' man) alone: a face without any card."""
    name = "astronaut" if rng.random() < 0.75 else "camera"
    img = skimage_photo(name).resize((1024, 1024), Image.BICUBIC)
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    img = img.rotate(rng.uniform(-8, 8), resample=Image.BICUBIC)
    img, cond, q = degrade(img, rng, rng.randint(0, 1), target_w=rng.randint(640, 1024))
    return img, {}, [name] + cond, q


# --------------------------------------------------------------------------- dataset


@dataclass
class Sample:
    """One generated image (JPEG bytes) and what it shows."""
    id: str
    data: bytes
    label: str                  # ktp | kk | npwp | selfie | none
    document: str               # ktp | kk | npwp | none   (a selfie contains a ktp)
    kind: str                   # finer kind: ktp, kk, npwp, selfie, meme, product, news, face, bank_card, member_card
    level: int                  # 0 clean, 1 mild, 2 hard
    has_face: bool
    truth: dict = field(default_factory=dict)
    conditions: list = field(default_factory=list)


DOCUMENT_KINDS = ("ktp", "kk", "npwp", "selfie")
NEGATIVE_KINDS = ("meme", "product", "news", "face", "bank_card", "member_card")
DRAWERS = {"ktp": draw_ktp, "kk": draw_kk, "npwp": draw_npwp, "meme": draw_meme, "product": draw_product,
           "news": draw_news, "bank_card": draw_bank_card, "member_card": draw_member_card}


def make_sample(kind: str, n: int = 0, seed: int = 7, level: int | None = None) -> Sample:
    """The n-th image of `kind` for `seed`; level defaults to n % 3 (clean, mild, hard)."""
    rng = random.Random(f"{seed}:{kind}:{n}")
    level = n % 3 if level is None else level
    label = kind if kind in DOCUMENT_KINDS else "none"
    has_face = False
    if kind == "selfie":
        img, truth, cond, q = selfie_with_card(rng, level)
        document, has_face = "ktp", True
    elif kind == "face":
        img, truth, cond, q = plain_face(rng)
        document, has_face, level = "none", True, 0
    else:
        card, truth = DRAWERS[kind](rng)
        if kind in ("meme", "product", "news"):
            level = min(level, 1)
            img, cond, q = degrade(card, rng, level, target_w={0: 1000, 1: 720}[level])
        else:
            img, cond, q = photograph(card, rng, level)
        document = label if label != "none" else "none"
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=q)  # no EXIF: the same seed gives the same bytes
    return Sample(f"{kind}_{n:03d}", buf.getvalue(), label, document, kind, level, has_face, truth, cond)


def make_dataset(seed: int = 7, per_class: int = 40):
    """per_class images of each document kind and 2 * per_class negatives, spread over NEGATIVE_KINDS (a generator)."""
    for kind in DOCUMENT_KINDS:
        for n in range(per_class):
            yield make_sample(kind, n, seed)
    for i in range(2 * per_class):
        yield make_sample(NEGATIVE_KINDS[i % len(NEGATIVE_KINDS)], i // len(NEGATIVE_KINDS), seed)
