"""The words for the codes people read everywhere (severities, categories, statuses), in Indonesian and English.

The review page's catalogue (`monitor.web.i18n`) includes them; takedown letters and
reports use them without importing the web page.
"""

from rules.reasons import catalogue

CATEGORIES = ("ektp_selfie", "id_documents", "database_dump", "combolist_credentials", "other_pii")
"""The sale categories the rules give a flag."""

LABELS = {
    "critical": ("kritis", "critical"),
    "high": ("tinggi", "high"),
    "medium": ("sedang", "medium"),
    "low": ("rendah", "low"),
    **catalogue()["categories"],  # the categories' names are the rules' (rules/data/reasons.toml)
    "unclassified": ("tanpa kategori", "unclassified"),
    "new": ("baru", "new"),
    "confirmed": ("dikonfirmasi", "confirmed"),
    "dismissed": ("ditolak", "dismissed"),
    "escalated": ("dieskalasi", "escalated"),
    "requested": ("diminta", "requested"),
    "removed": ("dihapus", "removed"),
    "still_online": ("masih online", "still online"),
    # identifier kinds (rules.identifiers.KINDS)
    "nik": ("NIK", "NIK"),
    "kk": ("No. KK", "KK no."),
    "npwp": ("NPWP", "NPWP"),
    "card": ("kartu pembayaran", "payment card"),
    "number": ("nomor", "number"),
    "phone": ("telepon", "phone"),
    "email": ("e-mail", "e-mail"),
    "telegram": ("Telegram", "Telegram"),
    "whatsapp": ("WhatsApp", "WhatsApp"),
    "btc": ("dompet BTC", "BTC wallet"),
    "eth": ("dompet ETH", "ETH wallet"),
    "tron": ("dompet TRON", "TRON wallet"),
    "price": ("harga", "price"),
    "volume": ("jumlah data", "volume"),
}
"""code -> (Indonesian, English)."""


def label(code: str, lang: str) -> str:
    """The word for `code` in `lang` ("id" or "en"); an unknown code is shown as it is."""
    pair = LABELS.get(code)
    return code if pair is None else pair[0] if lang == "id" else pair[1]


REPORT_WORDS = {
    "monitor": ("Monitor penjualan data", "Data-sale monitor"),
    "digest_of": ("ringkasan {date} ({zone})", "digest of {date} ({zone})"),
    "digest_subject": ("Ringkasan monitor penjualan data {date}: {n} tanda baru", "Data-sale monitor digest {date}: {n} new flags"),
    "new_flags": ("{n} tanda baru", "{n} new flags"),
    "category": ("kategori", "category"),
    "flags": ("tanda", "flags"),
    "critical_and_high": ("Kritis dan tinggi", "Critical and high"),
    "none": ("tidak ada", "none"),
    "sellers": ("Penjual", "Sellers"),
    "sellers_new_active": ("Baru: {new}, aktif lagi: {active}", "New: {new}, active again: {active}"),
    "seller_posts": ("{n} pos di {sources}", "{n} posts on {sources}"),
    "sources_failed": ("Sumber yang gagal", "Sources that failed"),
    "takedowns": ("Takedown", "Takedowns"),
    "takedowns_today": ("Hari ini diminta {requested}, dihapus {removed}, masih online {still_online}, dieskalasi {escalated}.",
                        "Requested {requested}, removed {removed}, still online {still_online}, escalated {escalated} on this day."),
    "platform": ("platform", "platform"),
    "median_days_to_removal": ("median hari sampai dihapus", "median days to removal"),
    "flags_per_day": ("Tanda per hari", "Flags per day"),
    "flags_per_day_chart": ("Tanda per hari, {days} hari terakhir, per kategori (tanda dengan beberapa kategori dihitung di tiap kategori)",
                            "Flags per day, last {days} days, by category (a flag counts in each of its categories)"),
    "numbers_in_table": ("angkanya ada di tabel di bawah", "numbers in the table below"),
    "day": ("hari", "day"),
    "alert_title": ("Monitor penjualan data: {n} tanda baru dari {source}", "Data-sale monitor: {n} new flag(s) from {source}"),
    "alert_more": ("... dan {n} lainnya (monitor flags --status new)", "... and {n} more (monitor flags --status new)"),
    "post_n": ("pos {id}", "post {id}"),
    "failed": ("gagal", "failed"),
    "degraded": ("menurun", "degraded"),
    "interrupted": ("terputus", "interrupted"),
    "partial": ("sebagian", "partial"),
}
"""The digest's and the alerts' words: key -> (Indonesian, English); {names} are filled in."""


def say(key: str, lang: str, **values) -> str:
    """REPORT_WORDS[key] (or a code's label) in `lang`, with `values` filled in."""
    pair = REPORT_WORDS.get(key) or LABELS.get(key)
    if pair is None:
        return key
    return (pair[0] if lang == "id" else pair[1]).format(**values)
