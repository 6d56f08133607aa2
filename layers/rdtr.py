"""The RDTR data standard as PetaKota reads and writes it (Permen ATR/BPN 14/2021, DOMAIN.md): the zoning
attributes, the special-provision overlays (ketentuan khusus) and the national sub-zone codes. Files carry the
names in upper case; the database stores them in lower case."""

from __future__ import annotations

from layers import kbli

# Attributes of a published RDTR zoning layer, in the standard's order.
STANDARD_FIELDS = ("NAMOBJ", "NAMZON", "KODZON", "NAMSZN", "KODSZN", "JNSRPR", "KODEWP", "KODSWP",
                   "KODBLK", "KODSBL", "WADMPR", "WADMKK", "WADMKC", "WADMKD", "LUASHA")
# Every plan must carry these; a missing one is reported (`missing_field`).
REQUIRED_FIELDS = ("NAMOBJ", "NAMZON", "KODZON", "NAMSZN", "KODSZN", "JNSRPR", "KODBLK", "KODSBL",
                   "WADMPR", "WADMKK", "WADMKC", "WADMKD", "LUASHA")
# Without these no ITBX verdict can be given: a missing one blocks the import; the others are warnings.
ESSENTIAL_FIELDS = ("KODZON", "KODSZN", "NAMSZN")
NUMERIC_FIELDS = ("LUASHA",)

# Special provisions (ketentuan khusus): flag columns on the zones or separate polygon layers.
# code -> (name in Bahasa Indonesia, English)
OVERLAYS = {
    "KKOP_1": ("Kawasan keselamatan operasi penerbangan", "Airport operational safety area"),
    "LP2B_2": ("Lahan pertanian pangan berkelanjutan", "Protected food-crop farmland"),
    "KRB_03": ("Kawasan rawan bencana", "Disaster-prone area"),
    "TOD_04": ("Kawasan berorientasi transit", "Transit-oriented development area"),
    "TEB_05": ("Kawasan bangunan tinggi", "High-rise area"),
    "CAGBUD": ("Kawasan cagar budaya", "Heritage area"),
    "HANKAM": ("Kawasan pertahanan dan keamanan", "Defence and security area"),
    "TPZ_00": ("Teknik pengaturan zonasi", "Zoning technique"),
    "RESAIR": ("Kawasan resapan air", "Water catchment area"),
}
# Overlays on which no new built activity is sited (protected farmland).
SITING_EXCLUDED_OVERLAYS = ("LP2B_2",)

# National sub-zone codes (Permen ATR/BPN 14/2021 appendix and the older Permen ATR 16/2018 codes still seen in
# published plans): KODSZN -> (KODZON, NAMSZN, English name, map colour). Colours: the RDTR convention where one
# is published (DOMAIN.md), otherwise a common planning palette. Cities' local codes are kept as they are.
ZONE_NAMES = {
    "R": ("Zona Perumahan", "Housing"), "K": ("Zona Perdagangan dan Jasa", "Trade and services"),
    "KT": ("Zona Perkantoran", "Offices"), "SPU": ("Zona Sarana Pelayanan Umum", "Public facilities"),
    "RTH": ("Zona Ruang Terbuka Hijau", "Green open space"), "PS": ("Zona Perlindungan Setempat", "Local protection"),
    "P": ("Zona Pertanian", "Agriculture"), "KPI": ("Zona Kawasan Peruntukan Industri", "Industrial estate"),
    "I": ("Zona Peruntukan Industri", "Industry"), "PL": ("Zona Peruntukan Lainnya", "Other uses"),
    "TR": ("Zona Transportasi", "Transport"), "BJ": ("Badan Jalan", "Road"), "BA": ("Badan Air", "Water body"),
    "KH": ("Zona Hutan Lindung", "Protection forest"), "KS": ("Zona Konservasi", "Conservation"),
}
NATIONAL_ZONES = {
    "R-1": ("R", "Perumahan kepadatan sangat tinggi", "Very high-density housing", "#FF9900"),
    "R-2": ("R", "Perumahan kepadatan tinggi", "High-density housing", "#FFC000"),
    "R-3": ("R", "Perumahan kepadatan sedang", "Medium-density housing", "#FFD966"),
    "R-4": ("R", "Perumahan kepadatan rendah", "Low-density housing", "#FFF2CC"),
    "R-5": ("R", "Perumahan kepadatan sangat rendah", "Very low-density housing", "#FFFAE6"),
    "K-1": ("K", "Perdagangan dan jasa skala kota", "City-scale trade and services", "#FF0000"),
    "K-2": ("K", "Perdagangan dan jasa skala WP", "District-scale trade and services", "#FF4D4D"),
    "K-3": ("K", "Perdagangan dan jasa skala SWP", "Local trade and services", "#FF8080"),
    "KT": ("KT", "Perkantoran", "Offices", "#C71585"),
    **{f"SPU-{i}": ("SPU", f"Sarana pelayanan umum skala {s_id}", f"Public facilities, {s_en} scale", "#7030A0")
       for i, (s_id, s_en) in enumerate((("kota", "city"), ("kecamatan", "district"), ("kelurahan", "kelurahan"),
                                         ("RW", "RW"), ("RT", "RT"), ("lainnya", "other")), start=1)},
    "SPU": ("SPU", "Sarana pelayanan umum", "Public facilities", "#7030A0"),
    "RTH-1": ("RTH", "Rimba kota / hutan kota", "Urban forest", "#37550A"),
    "RTH-2": ("RTH", "Taman kota", "City park", "#416900"),
    "RTH-3": ("RTH", "Taman kecamatan", "District park", "#468700"),
    "RTH-4": ("RTH", "Taman kelurahan", "Kelurahan park", "#4BA500"),
    "RTH-5": ("RTH", "Taman RW", "RW park", "#50C300"),
    "RTH-6": ("RTH", "Taman RT", "RT park", "#66D11A"),
    "RTH-7": ("RTH", "Pemakaman", "Cemetery", "#5AFF00"),
    "RTH-8": ("RTH", "Jalur hijau", "Green belt", "#0FF500"),
    "PS": ("PS", "Sempadan sungai", "River setback", "#00A0E6"),
    "P-1": ("P", "Tanaman pangan", "Food crops", "#A9D18E"),
    "P-2": ("P", "Hortikultura", "Horticulture", "#B5D99C"),
    "P-3": ("P", "Perkebunan", "Plantations", "#8DB36B"),
    "P-4": ("P", "Peternakan", "Livestock", "#C5E0B4"),
    "P-5": ("P", "Perikanan", "Fisheries", "#9DC3E6"),
    "KPI": ("KPI", "Kawasan peruntukan industri", "Industrial estate", "#690000"),
    "KI": ("KPI", "Kawasan industri", "Industrial estate", "#690000"),
    "I-1": ("I", "Industri kimia dasar", "Basic chemical industry", "#8B1A1A"),
    "I-2": ("I", "Industri mesin dan logam dasar", "Machinery and basic metal industry", "#8B1A1A"),
    "I-3": ("I", "Industri kecil", "Small industry", "#A52A2A"),
    "I": ("I", "Peruntukan industri", "Industry", "#8B1A1A"),
    "PL": ("PL", "Peruntukan lainnya", "Other uses", "#BFBFBF"),
    "TR": ("TR", "Transportasi", "Transport", "#D9D9D9"),
    "BJ": ("BJ", "Badan jalan", "Road", "#EB1E1E"),
    "BA": ("BA", "Badan air", "Water body", "#3399FF"),
    "KH": ("KH", "Hutan lindung", "Protection forest", "#1E4D00"),
    "KS": ("KS", "Konservasi", "Conservation", "#2E7500"),
}


def column(name: str) -> str:
    """The database column of a standard attribute or overlay code."""
    return name.lower()


def zone_of(kodszn: str) -> str | None:
    """The zone (KODZON) of a national sub-zone code, None for a local code."""
    entry = NATIONAL_ZONES.get(kodszn)
    return entry[0] if entry else None


# Activities as ITBX tables name them (KEGIATAN, often without a KBLI code) -> English. Names a city's table words
# otherwise are shown in Bahasa Indonesia with their KBLI code (activity_name_en gives None for them).
ACTIVITY_NAMES_EN = {
    "industri besar": "Large-scale industry", "industri kecil": "Small-scale industry",
    "industri makanan": "Food industry", "kawasan industri": "Industrial estate", "gudang": "Warehousing",
    "pergudangan": "Warehousing", "perumahan": "Housing", "perdagangan": "Trade",
    "perdagangan eceran": "Retail trade", "perkantoran": "Offices", "hotel": "Hotel", "rumah sakit": "Hospital",
    "pendidikan": "Education", "taman": "Park", "taman bermain": "Playground", "pemakaman": "Cemetery",
    "pertanian": "Agriculture", "restoran": "Restaurant", "peribadatan": "Place of worship",
}


def activity_name_en(kegiatan: str | None, kbli_code: str | None = None) -> str | None:
    """An ITBX row's activity in English: its name from ACTIVITY_NAMES_EN, else the English title of its KBLI
    code (layers/reference/kbli2020.csv); None when neither has one."""
    name = ACTIVITY_NAMES_EN.get(" ".join(str(kegiatan or "").split()).casefold())
    return name or (kbli.title_en(kbli_code) if kbli_code else None)
