"""The programme dashboard's words in Bahasa Indonesia (the default) and English: the page, its script (sent the
catalogue of its language as JSON) and the PDF look them up here. Status names come from
layers/programmes.PROGRAMME_STATUSES."""

from __future__ import annotations

from gis.render.messages import catalogue, message

DASHBOARD_MESSAGES: dict[str, dict[str, str]] = {
    "title": {"id": "Dasbor program", "en": "Programme dashboard"},
    "illustrative": {"id": "Data ilustratif (dibuat untuk contoh), bukan data resmi.",
                     "en": "Illustrative data (generated as an example), not official data."},
    "as_of": {"id": "Per tanggal", "en": "As of"},
    "year": {"id": "Tahun anggaran", "en": "Budget year"},
    "other_lang": {"id": "English", "en": "Bahasa Indonesia"},
    "key": {"id": "Kunci API (opsional)", "en": "API key (optional)"},
    "print": {"id": "Cetak", "en": "Print"},
    "pdf": {"id": "Unduh PDF", "en": "Download PDF"},
    "overview": {"id": "Ringkasan", "en": "Overview"},
    "programmes": {"id": "Program", "en": "Programmes"},
    "by_opd": {"id": "Kartu skor per perangkat daerah (OPD)", "en": "Scorecards per agency (OPD)"},
    "by_kecamatan": {"id": "Kartu skor per kecamatan", "en": "Scorecards per kecamatan"},
    "opd": {"id": "Perangkat daerah", "en": "Agency"},
    "kecamatan": {"id": "Kecamatan", "en": "Kecamatan"},
    "targets": {"id": "Target indikator", "en": "Indicator targets"},
    "met": {"id": "Tercapai", "en": "Met"},
    "indicators_met": {"id": "Target indikator tercapai", "en": "Indicator targets met"},
    "indicators_behind": {"id": "Target indikator belum tercapai", "en": "Indicator targets behind"},
    "indicators_late": {"id": "Target indikator terlambat", "en": "Indicator targets late"},
    "programmes_late": {"id": "Program terlambat", "en": "Programmes late"},
    "behind": {"id": "Belum tercapai", "en": "Behind"},
    "late": {"id": "Terlambat", "en": "Late"},
    "pagu": {"id": "Pagu (Rp)", "en": "Budget (Rp)"},
    "spent": {"id": "Realisasi (Rp)", "en": "Spent (Rp)"},
    "spending_share": {"id": "Serapan", "en": "Spent share"},
    "map": {"id": "Peta lokasi program menurut status", "en": "Programme locations by status"},
    "programme_list": {"id": "Daftar program", "en": "Programme list"},
    "status": {"id": "Status", "en": "Status"},
    "days_late": {"id": "Hari terlambat", "en": "Days late"},
    "days": {"id": "hari", "en": "days"},
    "indicators": {"id": "Indikator", "en": "Indicators"},
    "progress": {"id": "Riwayat laporan kemajuan", "en": "Progress history"},
    "date": {"id": "Tanggal", "en": "Date"},
    "value": {"id": "Realisasi", "en": "Realisation"},
    "note": {"id": "Catatan", "en": "Note"},
    "by": {"id": "Oleh", "en": "By"},
    "attachments": {"id": "Bukti lapangan (lampiran lokasi)", "en": "Field evidence (location attachments)"},
    "no_attachments": {"id": "Belum ada lampiran", "en": "No attachments yet"},
    "no_progress": {"id": "Belum ada laporan", "en": "No update yet"},
    "no_programmes": {"id": "Tidak ada program untuk ditampilkan", "en": "No programmes to show"},
    "close": {"id": "Tutup", "en": "Close"},
    "planned": {"id": "Rencana", "en": "Planned"},
    "realised": {"id": "Realisasi", "en": "Realised"},
    "target": {"id": "Target", "en": "Target"},
    "period": {"id": "Periode", "en": "Period"},
    "period_end": {"id": "Akhir periode", "en": "Period end"},
    "unit": {"id": "Satuan", "en": "Unit"},
    "area": {"id": "Wilayah", "en": "Area"},
    "schedule": {"id": "Jadwal", "en": "Schedule"},
    "programme": {"id": "Program", "en": "Programme"},
    "activity": {"id": "Kegiatan", "en": "Activity"},
    "public_view": {"id": "Tampilan publik: hanya program dan kolom publik",
                    "en": "Public view: public programmes and fields only"},
    "key_view": {"id": "Tampilan sesuai kunci API", "en": "View of your API key"},
    "private": {"id": "privat", "en": "private"},
    "legend": {"id": "Legenda", "en": "Legend"},
    "city_wide": {"id": "Seluruh kota", "en": "City-wide"},
    "total": {"id": "Jumlah", "en": "Total"},
    "generated": {"id": "Dibuat", "en": "Generated"},
    "state_met": {"id": "tercapai", "en": "met"},
    "state_behind": {"id": "belum tercapai", "en": "behind"},
    "state_late": {"id": "terlambat", "en": "late"},
    "progress_berjalan": {"id": "berjalan", "en": "in progress"},
    "progress_terkendala": {"id": "terkendala", "en": "obstructed"},
    "progress_selesai": {"id": "selesai", "en": "done"},
    "progress_batal": {"id": "batal", "en": "cancelled"},
    "milestones": {"id": "Tahapan proyek", "en": "Project milestones"},
    "milestone": {"id": "Tahapan", "en": "Milestone"},
    "planned_date": {"id": "Rencana", "en": "Planned"},
    "actual_date": {"id": "Realisasi", "en": "Reached"},
    "milestone_done": {"id": "tercapai", "en": "reached"},
    "milestone_overdue": {"id": "terlambat", "en": "overdue"},
    "milestone_upcoming": {"id": "akan datang", "en": "upcoming"},
    "computed_parcels": {"id": "dihitung dari bidang tanah proyek", "en": "computed from the project's parcels"},
    "computed_centres": {"id": "dihitung dari sentra aktif", "en": "computed from active centres"},
}


def dashboard_message(key: str, lang: str) -> str:
    return message(key, lang, DASHBOARD_MESSAGES)


def dashboard_catalogue(lang: str) -> dict[str, str]:
    return catalogue(lang, DASHBOARD_MESSAGES)
