"""The words for the codes people read everywhere (severities, categories, statuses), in Indonesian and English.

The review page's catalogue (`monitor.web.i18n`) includes them; takedown letters and
reports use them without importing the web page.
"""

CATEGORIES = ("ektp_selfie", "id_documents", "database_dump", "combolist_credentials", "other_pii")
"""The sale categories the rules give a flag."""

LABELS = {
    "critical": ("kritis", "critical"),
    "high": ("tinggi", "high"),
    "medium": ("sedang", "medium"),
    "low": ("rendah", "low"),
    "ektp_selfie": ("selfie e-KTP", "e-KTP selfie"),
    "id_documents": ("dokumen identitas", "identity documents"),
    "database_dump": ("basis data bocor", "database dump"),
    "combolist_credentials": ("kredensial / combolist", "credentials / combolist"),
    "other_pii": ("data pribadi lain", "other personal data"),
    "unclassified": ("tanpa kategori", "unclassified"),
    "new": ("baru", "new"),
    "confirmed": ("dikonfirmasi", "confirmed"),
    "dismissed": ("ditolak", "dismissed"),
    "escalated": ("dieskalasi", "escalated"),
    "requested": ("diminta", "requested"),
    "removed": ("dihapus", "removed"),
    "still_online": ("masih online", "still online"),
}
"""code -> (Indonesian, English)."""


def label(code: str, lang: str) -> str:
    """The word for `code` in `lang` ("id" or "en"); an unknown code is shown as it is."""
    pair = LABELS.get(code)
    return code if pair is None else pair[0] if lang == "id" else pair[1]
