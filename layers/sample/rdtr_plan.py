"""The sample cities' RDTR in the national data standard (layers/rdtr.py): generated zone pieces become
sub-blocks with the standard's attributes (planning units per kecamatan, blocks per kelurahan/desa), protected
farmland (LP2B) as a flag on far food-crop zones, the flood-prone belt along rivers (KRB) as an overlay layer of
its own, and an ITBX table in the long form keyed by KBLI 2020 and activity. Illustrative, not an official plan.
Geometry in the metric CRS."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

from layers.rdtr import NATIONAL_ZONES, ZONE_NAMES

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI",
         "XVII", "XVIII", "XIX", "XX", "XXI", "XXII", "XXIII", "XXIV", "XXV", "XXVI", "XXVII", "XXVIII", "XXIX",
         "XXX", "XXXI", "XXXII", "XXXIII")
LP2B_BEYOND_M = 6_500  # food-crop zones this far from the centre are protected farmland in the sample
FLOOD_BELT_M = 250  # the disaster-prone (flood) belt either side of a river


def letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: sub-unit letters for any number of kelurahan/desa."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def partition(kel, area: BaseGeometry) -> list[BaseGeometry]:
    """The kelurahan/desa made a partition of `area`: the published boundaries overlap their neighbours and
    leave slivers between them, which a plan must not (its checks report overlaps and gaps). Overlaps go to the
    first kelurahan in order, slivers to the nearest one."""
    cells, taken = [], shapely.Polygon()
    for geom in kel.geometry:
        cell = _polygonal(shapely.make_valid(geom).intersection(area).difference(taken))
        cells.append(cell)
        taken = taken.union(cell)
    for sliver in shapely.get_parts(_polygonal(area.difference(taken))):
        nearest = min(range(len(cells)), key=lambda i: cells[i].distance(sliver))
        cells[nearest] = _polygonal(cells[nearest].union(sliver))
    return cells


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygons of an overlay's result (no stray lines or points where shapes touch)."""
    return shapely.union_all([g for g in shapely.get_parts(shapely.make_valid(geom)) if g.geom_type == "Polygon"]
                             or [shapely.Polygon()])


def disjoint(pieces: list[tuple[BaseGeometry, str]]) -> list[tuple[BaseGeometry, str]]:
    """Zone pieces with each later piece cut where an earlier one lies (the first claim wins)."""
    out, taken = [], shapely.Polygon()
    for geom, code in pieces:
        out.append((_polygonal(geom.difference(taken)), code))
        taken = taken.union(geom)
    return out


def standard_zones(pieces: list[tuple[BaseGeometry, str]], kel, *, area: BaseGeometry, wadmkk: str,
                   wadmpr: str = "Sumatera Utara", centre: BaseGeometry | None = None,
                   min_m2: float = 50.0) -> list[dict]:
    """One sub-block per polygon of each zone piece (made disjoint, first claim first) cut along kelurahan/desa
    borders made a partition of the plan's `area`. `kel`: kelurahan/desa in the metric CRS with kode, nama,
    kecamatan_kode and kecamatan (name). Blocks are numbered per kelurahan in piece order, so the same pieces
    give the same codes."""
    kel = kel.assign(geometry=partition(kel, area))
    pieces = disjoint([(geom.intersection(area), code) for geom, code in pieces])
    kec_codes = sorted(kel.kecamatan_kode.unique())
    wp = {code: ROMAN[i] for i, code in enumerate(kec_codes)}
    swp = {}
    for code in kec_codes:
        for i, k in enumerate(sorted(kel[kel.kecamatan_kode == code].kode)):
            swp[k] = letters(i)
    blocks = {k: 0 for k in kel.kode}
    rows = []
    for geom, code in pieces:
        kodzon, namszn, _name_en, _colour = NATIONAL_ZONES[code]
        for k in kel.itertuples():
            parts = [g for g in shapely.get_parts(geom.intersection(k.geometry))
                     if g.geom_type == "Polygon" and g.area > min_m2]
            if not parts:
                continue
            blocks[k.kode] += 1
            kodblk = f"{wp[k.kecamatan_kode]}.{swp[k.kode]}.{blocks[k.kode]}"
            for i, poly in enumerate(parts):
                far = centre is not None and poly.centroid.distance(centre) > LP2B_BEYOND_M
                rows.append({
                    "namobj": f"Sub-zona {namszn}", "namzon": ZONE_NAMES[kodzon][0], "kodzon": kodzon,
                    "namszn": namszn, "kodszn": code, "jnsrpr": "RDTR", "kodewp": f"WP-{wp[k.kecamatan_kode]}",
                    "kodswp": f"SWP-{wp[k.kecamatan_kode]}.{swp[k.kode]}", "kodblk": kodblk,
                    "kodsbl": f"{kodblk}.{letters(i).lower()}", "wadmpr": wadmpr, "wadmkk": wadmkk,
                    "wadmkc": k.kecamatan, "wadmkd": k.nama, "luasha": round(poly.area / 1e4, 4),
                    "lp2b_2": "LP2B" if code == "P-1" and far else None,
                    "kelurahan_kode": k.kode, "geometry": shapely.MultiPolygon([poly]),
                })
    return rows


def flood_prone(rivers: list[BaseGeometry], city: BaseGeometry) -> list[dict]:
    """The disaster-prone overlay (KRB_03): a belt along every river inside the city."""
    belt = shapely.union_all([r.buffer(FLOOD_BELT_M) for r in rivers]).intersection(city)
    polys = [g for g in shapely.get_parts(belt) if g.geom_type == "Polygon"]
    return [{"kode": "KRB_03", "namobj": "Kawasan rawan bencana banjir", "geometry": shapely.MultiPolygon(polys)}]


# Activities of the sample ITBX: (activity, KBLI 2020 code or group, None where no one code fits). The verdicts
# per sub-zone follow in this order; a 2-digit code is a KBLI group (every 5-digit code under it).
ACTIVITIES = (
    ("industri besar", None), ("kawasan industri", "68130"), ("industri makanan", "10"),
    ("industri kecil", None), ("gudang", "52101"), ("perumahan", "68111"), ("perdagangan eceran", "47"),
    ("perkantoran", None), ("hotel", "55110"), ("rumah sakit", "86103"), ("pendidikan", "85"),
    ("taman", None), ("pemakaman", None), ("pertanian", "01"),
)
# The ITBX matrix of the sample plan (illustrative; real RDTRs publish their own).
_ITBX = {
    "KPI":   "I I I I I X T T X X X T X X",
    "I":     "T T I I I X T T X X X T X X",
    "K-1":   "X X T T T T I I I I I I X X",
    "K-2":   "X X T T T T I I I I I I X X",
    "KT":    "X X X X X T T I T T T I X X",
    "R-2":   "X X B T X I T T B B T I B X",
    "R-3":   "X X B T X I T T B B T I B T",
    "R-4":   "X X B B X I T T B B T I B I",
    "SPU-2": "X X X X X X T I T I I I T X",
    "P-1":   "X B B B B T X X X X X I T I",
    "RTH-1": "X X X X X X X X X X X I X X",
    "RTH-2": "X X X X X X X X X X X I X X",
    "RTH-7": "X X X X X X X X X X X T I X",
    "PS":    "X X X X X X X X X X X T X T",
}
_CONDITIONS = {
    "T": "Diizinkan terbatas: luas dan intensitas dibatasi / permitted with limits on size and intensity",
    "B": "Bersyarat: memerlukan izin pemanfaatan bersyarat / conditional-use permit required",
}


def itbx_rows() -> list[dict]:
    """The sample ITBX in the long form (KODSZN, KBLI, KEGIATAN, KETENTUAN, SYARAT), lower-case columns."""
    rows = []
    for code, verdicts in _ITBX.items():
        for (activity, kbli), verdict in zip(ACTIVITIES, verdicts.split(), strict=True):
            rows.append({"kodszn": code, "kbli": kbli, "kegiatan": activity, "ketentuan": verdict,
                         "syarat": _CONDITIONS.get(verdict)})
    return rows
