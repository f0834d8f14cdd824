"""Which Indonesian identity document the OCR lines of a photo come from, and the numbers on it.

Mentions are not documents: a news screenshot about a leak names every KTP field in its prose,
and a membership card has Nama, Alamat and even an NIK row. So a word counts only when it is
used as a *field label* (a short line of label and value, or the label followed by ':'), and a
type needs several labels only that type has, or its title together with a valid number of its
own kind (small, blurred photos often keep nothing else). The numbers go through the rule
layer's `find_identifiers`, so a NIK read from a photo is validated and masked exactly as one in
a post. Rules and thresholds are the research lab's (issue 15), which found no false document
among 80 negatives and every one of 160 documents.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from ..identifiers import Identifier, find_identifiers, is_valid_kk, mask_text

DOCUMENTS = ("ktp", "kk", "npwp", "passport", "sim")
NUMBER_KINDS = ("nik", "kk", "npwp", "card", "number")
"""Identifier kinds that are identity or account numbers: the lines holding them are blacked out."""


@dataclass(frozen=True)
class Label:
    """A field label of a document type; `specific` is False for labels other cards share (Nama, Alamat)."""

    text: str
    weight: float = 1.0
    specific: bool = True


LABELS = {
    "ktp": [
        Label("PROVINSI"), Label("TEMPAT/TGL LAHIR", 1.5), Label("JENIS KELAMIN"), Label("GOL. DARAH", 1.5),
        Label("KEL/DESA", 1.5), Label("KECAMATAN"), Label("AGAMA"), Label("STATUS PERKAWINAN", 1.5),
        Label("PEKERJAAN"), Label("KEWARGANEGARAAN", 1.5), Label("BERLAKU HINGGA", 2.0), Label("SEUMUR HIDUP"),
        Label("RT/RW", 0.5), Label("NIK", 0.5, False), Label("NAMA", 0.25, False), Label("ALAMAT", 0.25, False),
        Label("KABUPATEN", 0.25, False),
    ],
    "kk": [
        Label("KARTU KELUARGA", 3.0), Label("NAMA KEPALA KELUARGA", 2.0), Label("DESA/KELURAHAN"),
        Label("KABUPATEN/KOTA"), Label("KODE POS"), Label("NAMA LENGKAP"), Label("TANGGAL LAHIR", 0.5),
        Label("PENDIDIKAN"), Label("DIKELUARKAN TANGGAL", 1.5), Label("PENCATATAN SIPIL"),
        Label("NIK", 0.25, False), Label("ALAMAT", 0.25, False),
    ],
    "npwp": [
        Label("NPWP", 2.0), Label("DIREKTORAT JENDERAL PAJAK", 2.0), Label("KEMENTERIAN KEUANGAN", 1.5),
        Label("KPP PRATAMA", 1.5), Label("TANGGAL TERDAFTAR", 1.5), Label("NIK", 0.25, False),
    ],
    "passport": [
        Label("PASPOR", 2.0), Label("PASSPORT", 2.0), Label("KODE NEGARA"), Label("COUNTRY CODE"),
        Label("NO. PASPOR", 1.5), Label("PASSPORT NO", 1.5), Label("TGL. PENGELUARAN"), Label("DATE OF ISSUE"),
        Label("TGL. HABIS BERLAKU"), Label("DATE OF EXPIRY"), Label("KANTOR YANG MENGELUARKAN"),
        Label("ISSUING OFFICE"), Label("NAMA LENGKAP", 0.25, False),
    ],
    "sim": [
        Label("SURAT IZIN MENGEMUDI", 3.0), Label("DRIVING LICENSE", 2.0), Label("TINGGI"), Label("PEKERJAAN"),
        Label("TEMPAT & TGL. LAHIR"), Label("BERLAKU S/D"), Label("NAMA", 0.25, False), Label("ALAMAT", 0.25, False),
    ],
}
TITLES = {"ktp": "PROVINSI", "kk": "KARTU KELUARGA", "npwp": "NPWP", "passport": "PASPOR", "sim": "SURAT IZIN MENGEMUDI"}
OTHER_TITLES = {"passport": ("PASSPORT",), "sim": ("DRIVING LICENSE",)}
MIN_SPECIFIC = 3  # distinct labels only this type has (a valid number of its kind counts as one)
MIN_SCORE = 4.0
LINE_SLACK = 26  # characters a line may have beyond its label and still be "label: value"
NUMBER_EVIDENCE = {"ktp": ("nik", 1.5), "kk": ("kk", 1.5), "npwp": ("npwp", 2.0)}
_MRZ = re.compile(r"P[<K]IDN[A-Z<]{10,}")  # the machine-readable line of an Indonesian passport
_NO_BEFORE = re.compile(r"\bN[O0]\.?\s*[:.]?\s*$", re.I)  # "No. 3171..." under the KK title
_NO_OWN_BOX = re.compile(r"N[O0]\s*[.:]", re.I)


@dataclass
class Reading:
    """What a photo's text says: the document type, its numbers and which lines hold them."""

    document: str  # one of DOCUMENTS or "none"
    identifiers: list[Identifier]
    masked_text: str  # the text read, identity numbers masked
    labels: list[str] = field(default_factory=list)  # the field labels of `document` that were found
    document_lines: list[int] = field(default_factory=list)  # lines with a label or number of the document
    number_lines: list[int] = field(default_factory=list)  # lines to black out: identity numbers, digit runs, on documents any digit
    digits: list[str] = field(default_factory=list)  # each identifier's digits as read (never shown: for fingerprints)


def upper(text: str) -> str:
    """NFKC (RapidOCR writes full-width colons), no accents, upper case."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").upper()


def compact(text: str) -> str:
    """A-Z and 0-9 only: RapidOCR often drops the spaces ("STATUSPERKAWINAN")."""
    return re.sub(r"[^A-Z0-9]", "", upper(text))


def fuzzy_find(pattern: str, text: str, max_err: int) -> bool:
    """Whether `pattern` occurs in `text` with at most `max_err` edits (Sellers' algorithm)."""
    if pattern in text:
        return True
    if max_err == 0 or not text:
        return False
    prev = list(range(len(pattern) + 1))
    for tc in text:
        cur = [0] * (len(pattern) + 1)
        for k in range(1, len(pattern) + 1):
            cur[k] = min(prev[k - 1] + (pattern[k - 1] != tc), prev[k] + 1, cur[k - 1] + 1)
        if cur[-1] <= max_err:
            return True
        prev = cur
    return False


def allowed_errors(keyword: str) -> int:
    """No error in short labels (NIK, NPWP), then about one per six letters."""
    return 0 if len(keyword) <= 4 else max(1, len(keyword) // 6)


def label_lines(label: Label, lines: list[str], compacted: list[str]) -> list[int]:
    """The lines where `label` is used as a field label (not merely mentioned in prose)."""
    keyword = compact(label.text)
    errors = allowed_errors(keyword)
    found = []
    for i, (raw, c) in enumerate(zip(lines, compacted)):
        if len(c) < len(keyword) - errors or not fuzzy_find(keyword, c, errors):
            continue
        if len(c) <= len(keyword) + LINE_SLACK:
            found.append(i)
        elif re.search(re.escape(label.text[:3]) + r"[^:]{0,%d}:" % (len(label.text) + 4), upper(raw)):
            found.append(i)  # "Label :" inside a long line (columns merged into one box)
    return found


_DIGITLIKE = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "I": "1", "l": "1", "|": "1", "!": "1",
                            "S": "5", "s": "5", "B": "8", "Z": "2"})
_RUN = re.compile(r"(?<![A-Za-z])[0-9OoQDIl|!SsBZ][0-9OoQDIl|!SsBZ .\-]{8,}[0-9OoQDIl|!SsBZ](?![A-Za-z])")  # not inside a word ("No.")


def fix_digit_runs(text: str) -> str:
    """Look-alike letters read as digits, only inside runs that are mostly digits already:
    'NIK : 3l7lO14508920O07' becomes '3171014508920007', 'BUDI SANTOSO' stays (a run needs 60% digits)."""

    def fix(m: re.Match) -> str:
        run = m.group(0)
        core = [c for c in run if c not in " .-"]
        return run.translate(_DIGITLIKE) if sum(c.isdigit() for c in core) >= 0.6 * len(core) else run

    return _RUN.sub(fix, text)


def read_document(lines: list[str]) -> Reading:
    """Classify OCR lines as one of DOCUMENTS or "none" and read the numbers on them."""
    lines = [fix_digit_runs(unicodedata.normalize("NFKC", line)).strip() for line in lines]
    text = "\n".join(lines)
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    identifiers = [_kk_number(text, ident) for ident in find_identifiers(text)]
    line_of = {id(ident): _line_index(starts, ident.start) for ident in identifiers}
    compacted = [compact(line) for line in lines]
    hits = {t: {lb.text: label_lines(lb, lines, compacted) for lb in labels} for t, labels in LABELS.items()}
    hits = {t: {k: v for k, v in found.items() if v} for t, found in hits.items()}
    valid = {i.kind for i in identifiers if i.valid}
    numbered = {i.kind for i in identifiers} | ({"number"} if _LONG_NUMBER.search(re.sub(r"[ .\-]", "", text)) else set())
    mrz = any(_MRZ.search(upper(line).replace(" ", "")) for line in lines)
    document = _decide(hits, valid, mrz, numbered)
    number_lines = _lines_to_black_out(lines, starts, identifiers, document != "none")
    masked = hide_numbers(mask_text(text, identifiers), document != "none")
    digits = [re.sub(r"\D", "", text[i.start:i.end]) for i in identifiers]
    if document == "none":
        return Reading("none", identifiers, masked, number_lines=number_lines, digits=digits)
    doc_lines = {i for found in hits[document].values() for i in found}
    doc_lines |= {line_of[id(i)] for i in identifiers if i.kind in NUMBER_KINDS}
    if mrz:
        doc_lines |= {i for i, line in enumerate(lines) if _MRZ.search(upper(line).replace(" ", ""))}
    return Reading(document, identifiers, masked, sorted(hits[document]), sorted(doc_lines), number_lines, digits)


_LONG_NUMBER = re.compile(r"\d{14,}")
"""A document's own number as OCR may leave it: 14 or more digits once spaces, dots and dashes are gone."""
_MASKED = re.compile(r"[\w.+-]*\*{3,}[\w.@+-]*")
_NUMBERISH = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-/]{8,}")


def hide_numbers(text: str, document: bool) -> str:
    """The text read as it may be shown, on top of the identifiers' masks: a run of ten or more characters
    that is mostly digits is covered (a NIK with a misread letter, "2105101A05900607", is no identifier
    but is still one); on a document every other digit too, because a KTP's birth date and sex give the
    hidden middle of its masked NIK back."""

    def cover(segment: str) -> str:
        def run(m: re.Match) -> str:
            chars = m.group(0)
            digits = sum(c.isdigit() for c in chars)
            return re.sub(r"[0-9A-Za-z]", "#", chars) if digits >= 6 and digits >= 0.5 * sum(c.isalnum() for c in chars) else chars

        segment = _NUMBERISH.sub(run, segment)
        return re.sub(r"\d", "#", segment) if document else segment

    out, pos = [], 0
    for m in _MASKED.finditer(text):  # the identifiers' own masks stay readable
        out += [cover(text[pos : m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out + [cover(text[pos:])])


def _lines_to_black_out(lines: list[str], starts: list[int], identifiers: list[Identifier], document: bool) -> list[int]:
    """The lines a copy shown to a reviewer blacks out: every line an identity number's span touches (a NIK
    read across three lines is on three), every line with a run that is mostly digits (a NIK with a misread
    letter), and on a document every line with a digit (a birth date gives a masked NIK's middle back)."""
    out = set()
    for ident in identifiers:
        if ident.kind in NUMBER_KINDS:
            out.update(range(_line_index(starts, ident.start), _line_index(starts, max(ident.start, ident.end - 1)) + 1))
    for i, line in enumerate(lines):
        if (document and (any(c.isdigit() for c in line) or _DATE_LABEL.search(line))) or hide_numbers(line, False) != line:
            out.add(i)
    return sorted(out)


_DATE_LABEL = re.compile(r"lahir|berlaku|tgl|tanggal|date of birth|expiry", re.IGNORECASE)
"""Labels of dates on a document: their line is blacked out even when the OCR read no digit in it."""


def _line_index(starts: list[int], offset: int) -> int:
    index = 0
    for i, start in enumerate(starts):
        if start > offset:
            break
        index = i
    return index


def _kk_number(text: str, ident: Identifier) -> Identifier:
    """A 16-digit number printed as "No. ..." is the KK's own number (a NIK in a post has no "No."):
    validated as a KK (registration date, no +40)."""
    if ident.kind != "nik":
        return ident
    line_start = text.rfind("\n", 0, ident.start) + 1
    before = text[line_start : ident.start]
    if not before.strip(" :"):  # the OCR may give "No." a box of its own, just before the number
        before = text[text.rfind("\n", 0, max(0, line_start - 1)) + 1 : max(0, line_start - 1)]
        before = before if _NO_OWN_BOX.fullmatch(before.strip()) else ""  # not the table's "No" column
    if not _NO_BEFORE.search(before):
        return ident
    digits = re.sub(r"\D", "", text[ident.start : ident.end])
    return replace(ident, kind="kk", valid=is_valid_kk(digits))


def _decide(hits: dict[str, dict[str, list[int]]], valid: set[str], mrz: bool, numbered: set[str]) -> str:
    """The document type from the labels found, the valid numbers and a passport's MRZ line. A KTP, KK or NPWP
    needs a number of its own (read right or not): every Indonesian form has the field labels, a blank one
    (a job application's biodata, a list of leaked fields, a template) has no number."""
    passport_title = any(t in hits["passport"] for t in (TITLES["passport"], *OTHER_TITLES["passport"]))
    passport_specific = sum(1 for lb in LABELS["passport"] if lb.specific and lb.text in hits["passport"])
    if (mrz and passport_specific >= 1) or (passport_title and (mrz or passport_specific >= 3)):
        return "passport"  # a KTP never says PASPOR; a passport repeats KTP-like fields
    sim_title = any(t in hits["sim"] for t in (TITLES["sim"], *OTHER_TITLES["sim"]))
    if sim_title and len(hits["sim"]) >= 3:
        return "sim"
    scores, passing = {}, []
    for t in ("ktp", "kk", "npwp"):
        found = [lb for lb in LABELS[t] if lb.text in hits[t]]
        score, specific = sum(lb.weight for lb in found), sum(lb.specific for lb in found)
        kind, weight = NUMBER_EVIDENCE[t]
        if kind in valid:
            score, specific = score + weight, specific + 1
        scores[t] = score
        if not ({kind, "number"} & numbered):
            continue
        if (specific >= MIN_SPECIFIC and score >= MIN_SCORE) or (TITLES[t] in hits[t] and kind in valid):
            passing.append(t)
    return max(passing, key=lambda t: scores[t]) if passing else "none"
