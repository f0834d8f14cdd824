"""The review page's words in Bahasa Indonesia and English; each user picks one."""

LANGS = ("id", "en")

STRINGS = {
    "title": ("Monitor penjualan data", "Data-sale monitor"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "User name"),
    "password": ("Kata sandi", "Password"),
    "bad_login": ("Nama pengguna atau kata sandi salah.", "Wrong user name or password."),
    "locked": ("Akun dikunci sementara karena terlalu banyak percobaan gagal.", "Account locked for a while after repeated failures."),
    "queue": ("Antrean", "Queue"),
    "audit": ("Log audit", "Audit log"),
    "users": ("Pengguna", "Users"),
    "rule_stats": ("Kualitas aturan", "Rule quality"),
    "filters": ("Saring", "Filter"),
    "from": ("Dari", "From"),
    "to": ("Sampai", "To"),
    "source": ("Sumber", "Source"),
    "category": ("Kategori", "Category"),
    "severity": ("Tingkat", "Severity"),
    "status": ("Status", "Status"),
    "search": ("Cari teks", "Search text"),
    "apply": ("Terapkan", "Apply"),
    "any": ("semua", "any"),
    "none_found": ("Tidak ada pos yang ditandai untuk saringan ini.", "No flagged posts for these filters."),
    "author": ("Penulis", "Author"),
    "posted": ("Diposting", "Posted"),
    "reasons": ("Alasan", "Reasons"),
    "linked": ("Pos terkait", "Linked posts"),
    "confirm": ("Konfirmasi", "Confirm"),
    "dismiss": ("Tolak", "Dismiss"),
    "escalate": ("Eskalasi", "Escalate"),
    "note": ("Catatan", "Note"),
    "add_note": ("Tambah catatan", "Add note"),
    "copy": ("Salin", "Copy"),
    "details": ("Rincian", "Details"),
    "legend": ("Tombol: j/k pindah · c konfirmasi · d tolak · e eskalasi", "Keys: j/k move · c confirm · d dismiss · e escalate"),
    "news_report": ("berita/laporan", "news/report"),
    "not_a_sale": ("bukan penjualan", "not a sale"),
    "duplicate": ("duplikat", "duplicate"),
    "other": ("lainnya", "other"),
    "versions": ("Versi", "Versions"),
    "identifiers": ("Identitas", "Identifiers"),
    "reveal": ("Tampilkan lengkap (tercatat di audit)", "Reveal in full (written to the audit log)"),
    "decisions": ("Keputusan", "Decisions"),
    "export_csv": ("Ekspor CSV", "Export CSV"),
    "add_user": ("Tambah pengguna", "Add user"),
    "role": ("Peran", "Role"),
    "disable": ("Nonaktifkan", "Disable"),
    "enable": ("Aktifkan", "Enable"),
    "language": ("Bahasa", "Language"),
    "forbidden": ("Anda tidak berhak melakukan ini.", "You are not allowed to do this."),
    "decided": ("Diputuskan", "Decided"),
    "rule": ("Aturan", "Rule"),
    "confirmed": ("dikonfirmasi", "confirmed"),
    "dismissed": ("ditolak", "dismissed"),
    "precision": ("presisi", "precision"),
    "evidence": ("Bukti", "Evidence"),
    "no_evidence": ("Belum ada tangkapan halaman untuk pos ini.", "No page capture for this post yet."),
}


def translate(key: str, lang: str) -> str:
    pair = STRINGS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "id" else pair[1]
