"""The one message catalogue of the maps and pages, in Bahasa Indonesia (the default) and English. Templates,
Python renderers (static maps, explore()) and the web map's script (served the catalogue of its language as JSON)
all look words up here."""

from __future__ import annotations

from gis.core.language import DEFAULT_LANG, LANGS, lang_of  # noqa: F401 - re-exported for the renderers

MESSAGES: dict[str, dict[str, str]] = {
    # --- OGC API HTML views ---------------------------------------------------------------------------------
    "home": {"id": "Beranda", "en": "Home"},
    "collections": {"id": "Koleksi", "en": "Collections"},
    "collection": {"id": "Koleksi", "en": "Collection"},
    "items": {"id": "Fitur", "en": "Items"},
    "item": {"id": "Fitur", "en": "Item"},
    "conformance": {"id": "Kesesuaian", "en": "Conformance"},
    "queryables": {"id": "Atribut yang dapat dikueri", "en": "Queryables"},
    "history": {"id": "Riwayat", "en": "History"},
    "breadcrumbs": {"id": "Navigasi", "en": "Breadcrumbs"},
    "json": {"id": "JSON", "en": "JSON"},
    "json_version": {"id": "Versi JSON", "en": "JSON version"},
    "links": {"id": "Tautan", "en": "Links"},
    "rel": {"id": "Relasi", "en": "Relation"},
    "type": {"id": "Tipe", "en": "Type"},
    "title": {"id": "Judul", "en": "Title"},
    "id": {"id": "ID", "en": "ID"},
    "description": {"id": "Deskripsi", "en": "Description"},
    "illustrative_badge": {"id": "Ilustratif", "en": "Illustrative"},
    "illustrative_note": {"id": "Data ilustratif (dibuat untuk contoh), bukan data resmi.",
                          "en": "Illustrative data (generated as an example), not official data."},
    "extent": {"id": "Cakupan", "en": "Extent"},
    "bbox": {"id": "Kotak batas (B, S, T, U)", "en": "Bounding box (W, S, E, N)"},
    "temporal": {"id": "Rentang waktu", "en": "Time interval"},
    "crs": {"id": "Sistem koordinat", "en": "Coordinate reference systems"},
    "item_type": {"id": "Jenis item", "en": "Item type"},
    "next": {"id": "Berikutnya", "en": "Next"},
    "prev": {"id": "Sebelumnya", "en": "Previous"},
    "number_matched": {"id": "Jumlah cocok", "en": "Number matched"},
    "number_returned": {"id": "Jumlah ditampilkan", "en": "Number returned"},
    "no_features": {"id": "Tidak ada fitur.", "en": "No features."},
    "properties": {"id": "Atribut", "en": "Properties"},
    "property": {"id": "Atribut", "en": "Property"},
    "value": {"id": "Nilai", "en": "Value"},
    "name": {"id": "Nama", "en": "Name"},
    "format": {"id": "Format", "en": "Format"},
    "values": {"id": "Nilai yang diizinkan", "en": "Allowed values"},
    "geometry": {"id": "Geometri", "en": "Geometry"},
    "version": {"id": "Versi", "en": "Version"},
    "action": {"id": "Aksi", "en": "Action"},
    "actor": {"id": "Pelaku", "en": "Actor"},
    "at": {"id": "Waktu", "en": "At"},
    "changes": {"id": "Perubahan", "en": "Changes"},
    "no_history": {"id": "Belum ada riwayat.", "en": "No history yet."},
    "map": {"id": "Peta", "en": "Map"},
    "open": {"id": "Buka fitur", "en": "Open feature"},
    "view_items": {"id": "Lihat fitur", "en": "View items"},
    "api_definition": {"id": "Definisi API", "en": "API definition"},
    "api_docs": {"id": "Dokumentasi API", "en": "API documentation"},
    "conforms_to": {"id": "Kelas kesesuaian", "en": "Conformance classes"},
    "yes": {"id": "ya", "en": "yes"},
    "no": {"id": "tidak", "en": "no"},
    "paging": {"id": "Halaman", "en": "Pages"},
    "list_separator": {"id": "; ", "en": ", "},  # "," is the decimal mark in Bahasa Indonesia
    # --- the web map and the embed --------------------------------------------------------------------------
    "layers": {"id": "Lapisan", "en": "Layers"},
    "legend": {"id": "Legenda", "en": "Legend"},
    "search": {"id": "Cari kelurahan (nama atau kode)", "en": "Find a kelurahan (name or code)"},
    "illustrative": {"id": "ilustratif", "en": "illustrative"},
    "partly_illustrative": {"id": "Sebagian data ilustratif", "en": "Partly illustrative data"},
    "boundaries_note": {"id": "Batas wilayah: data nyata (BIG); lapisan lain ilustratif.",
                        "en": "Boundaries are real (BIG); other layers are illustrative."},
    "measureLine": {"id": "Ukur jarak", "en": "Measure distance"},
    "measureArea": {"id": "Ukur luas", "en": "Measure area"},
    "drawSite": {"id": "Gambar lokasi", "en": "Draw a site"},
    "finish": {"id": "Selesai", "en": "Finish"},
    "clear": {"id": "Hapus", "en": "Clear"},
    "siting": {"id": "Cari lokasi kawasan industri", "en": "Find industrial estate sites"},
    "running": {"id": "Memproses...", "en": "Running..."},
    "activity": {"id": "Kegiatan", "en": "Activity"},
    "kbli": {"id": "atau KBLI 2020 (5 digit)", "en": "or KBLI 2020 (5 digits)"},
    "zones": {"id": "Zona", "en": "Zones"},
    "unregulated": {"id": "tidak diatur: perlu kajian", "en": "not regulated: needs assessment"},
    "verdict": {"id": "Kesesuaian (KKPR)", "en": "Zoning conformity (KKPR)"},
    "suitability": {"id": "Kesesuaian lokasi", "en": "Site suitability"},
    "key": {"id": "Kunci API (opsional)", "en": "API key (optional)"},
    "progress": {"id": "Pengadaan tanah", "en": "Land acquisition"},
    "acquired": {"id": "dibebaskan", "en": "acquired"},
    "target": {"id": "target", "en": "target"},
    "milestones": {"id": "Tahapan", "en": "Milestones"},
    "area": {"id": "Luas", "en": "Area"},
    "length": {"id": "Panjang", "en": "Length"},
    "perimeter": {"id": "Keliling", "en": "Perimeter"},
    "noresult": {"id": "Tidak ditemukan", "en": "Not found"},
    "lang": {"id": "English", "en": "Bahasa Indonesia"},  # the language button offers the other language
    "late": {"id": "terlambat", "en": "late"},
    "done_on_time": {"id": "selesai tepat waktu", "en": "done on time"},
    "done_late": {"id": "selesai terlambat", "en": "done late"},
    "upcoming": {"id": "akan datang", "en": "upcoming"},
    "candidates": {"id": "Kandidat lokasi", "en": "Candidate sites"},
    "source": {"id": "Sumber", "en": "Sources"},
    "city": {"id": "Kabupaten / kota", "en": "Regency / city"},
    "all_cities": {"id": "Semua kabupaten / kota (wilayah)", "en": "Every regency / city (region)"},
    "and": {"id": "dan", "en": "and"},
    "cities_held": {"id": "Kabupaten / kota", "en": "Regencies and cities"},
    "code": {"id": "Kode", "en": "Code"},
    "kind": {"id": "Jenis", "en": "Kind"},
    "data": {"id": "Data", "en": "Data"},
    "attachments": {"id": "Lampiran", "en": "Attachments"},
    "no_attachments": {"id": "Belum ada lampiran", "en": "No attachments yet"},
    "attach_file": {"id": "Tambah foto atau PDF", "en": "Add a photo or PDF"},
    "attach_public": {"id": "Tampilkan ke publik", "en": "Show to the public"},
    "uploading": {"id": "Mengunggah...", "en": "Uploading..."},
    "far_from_feature": {"id": "diambil jauh dari fitur", "en": "taken far from the feature"},
    "private": {"id": "privat", "en": "private"},
    # --- the command-center wall ---------------------------------------------------------------------------
    "wall_title": {"id": "Ruang kendali", "en": "Command center"},
    "wall_acquisition": {"id": "Pengadaan tanah kawasan industri", "en": "Industrial estate land acquired"},
    "wall_rth": {"id": "Ruang terbuka hijau (RTH)", "en": "Green open space (RTH)"},
    "wall_parks": {"id": "Penduduk terlayani taman", "en": "People served by a park"},
    "wall_centres": {"id": "Kelurahan dengan sentra aktif", "en": "Kelurahan with an active centre"},
    "wall_milestones_late": {"id": "Tahapan kawasan industri terlambat", "en": "Estate milestones late"},
    "wall_programmes_late": {"id": "Program terlambat", "en": "Programmes late"},
    "wall_programmes_of": {"id": "program publik tahun", "en": "public programmes of"},
    "wall_no_programmes": {"id": "Belum ada program tahun ini", "en": "No programmes this year"},
    "wall_no_project": {"id": "Tidak ada proyek yang dipantau", "en": "No monitored project"},
    "wall_no_population": {"id": "Belum ada data penduduk", "en": "No population data yet"},
    "wall_of": {"id": "dari", "en": "of"},
    "wall_milestones_of": {"id": "tahapan", "en": "milestones"},
    "wall_target": {"id": "target", "en": "target"},
    "wall_public": {"id": "publik", "en": "public"},
    "wall_people": {"id": "jiwa", "en": "people"},
    "wall_kelurahan": {"id": "kelurahan/desa", "en": "kelurahan/desa"},
    "wall_as_of": {"id": "per", "en": "as of"},
    "wall_public_note": {"id": "Informasi publik: tanpa data pribadi atau nilai ganti rugi",
                         "en": "Public information: no personal data or compensation figures"},
    "wall_city_panel": {"id": "Kota", "en": "City"},
    "wall_estate_panel": {"id": "Kawasan industri", "en": "Industrial estate"},
    # --- static maps --------------------------------------------------------------------------------------
    "static_subtitle": {"id": "Legenda, skala dan arah utara", "en": "Legend, scale and north"},
    "north": {"id": "U", "en": "N"},
}



def message(key: str, lang: str, messages: dict = MESSAGES) -> str:
    return messages[key][lang_of(lang)]


def catalogue(lang: str, messages: dict = MESSAGES) -> dict[str, str]:
    """Every message of `messages` (a page's own catalogue, or the maps') in one language (what a page's script
    receives)."""
    lang = lang_of(lang)
    return {key: texts[lang] for key, texts in messages.items()}


def illustrative_suffix(lang: str) -> str:
    return f" ({message('illustrative', lang)})"
