"""Regulation constants used by the analyses, each with its source (DOMAIN.md). They are defaults: every
process takes them as inputs, so a city can apply its own local rules. Values marked unconfirmed were not
seen in a primary text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    value: float
    source: str
    confirmed: bool = True


RTH_TOTAL_SHARE = Rule(0.30, "UU 26/2007 Penataan Ruang, pasal 29: RTH >= 30 % of the urban area")
RTH_PUBLIC_SHARE = Rule(0.20, "UU 26/2007 Penataan Ruang, pasal 29: public RTH >= 20 % of the urban area")
ESTATE_MIN_HA = Rule(50.0, "PP 24/2009 (industrial estates; current wording under PP 20/2024 unconfirmed)", False)
ESTATE_TARGET_HA = Rule(138.0, "Kawasan Industri Binjai: area being freed, as announced by the mayor")
MAX_SLOPE_PCT = Rule(15.0, "Permenperin 30/2020: industrial estate slope at most 15 %")
ARTERIAL_SETBACK_M = Rule(15.0, "Road building setback on arterials (local rule, unconfirmed for Binjai)", False)

# River setbacks, unembanked urban rivers, by depth class (PP 38/2011, Permen PUPR 28/2015).
RIVER_SETBACK_M = {"<=3m": 10.0, "3-20m": 15.0, ">20m": 30.0}
RIVER_SETBACK_SOURCE = "PP 38/2011 Sungai; Permen PUPR 28/2015: 10 / 15 / 30 m by river depth (urban, no levee)"
EMBANKED_SETBACK_M = Rule(3.0, "Permen PUPR 28/2015: 3 m from the levee toe in urban areas")


@dataclass(frozen=True)
class ParkStandard:
    serves_people: int
    min_area_m2: float
    radius_m: float | None
    radius_confirmed: bool


# Permen PU 05/PRT/M/2008 and SNI 03-1733-2004. Radii for kelurahan, kecamatan and city parks are not
# given in a primary text seen here (unconfirmed): these defaults are planning practice, configurable.
PARK_STANDARDS = {
    "taman rt": ParkStandard(250, 250, 300, True),
    "taman rw": ParkStandard(2_500, 1_250, 1_000, True),
    "taman kelurahan": ParkStandard(30_000, 9_000, 2_000, False),
    "taman kecamatan": ParkStandard(120_000, 24_000, 4_000, False),
    "taman kota": ParkStandard(480_000, 144_000, 6_000, False),
    # Small neighbourhood parks serve like an RW park (assumption, configurable).
    "taman bermain anak": ParkStandard(2_500, 1_250, 1_000, False),
    "taman lansia": ParkStandard(2_500, 1_250, 1_000, False),
}
PARK_STANDARDS_SOURCE = "Permen PU 05/PRT/M/2008; SNI 03-1733-2004 (radii above RW level unconfirmed)"

# Share of a kelurahan's people within reach of a park below which it is listed as underserved.
UNDERSERVED_BELOW = Rule(0.5, "PetaKota default; set by the planner", False)


@dataclass(frozen=True)
class SuitabilityWeights:
    """Default weights of the siting criteria (sum to 1); each is an input of site-suitability."""

    slope: float = 0.25
    flood: float = 0.20
    access: float = 0.30
    housing_distance: float = 0.15
    land_cover: float = 0.10
    extra: dict = field(default_factory=dict)


def as_dict() -> dict:
    """The rules with their sources, for process descriptions and notebooks."""
    return {
        "rth_total_share": vars(RTH_TOTAL_SHARE), "rth_public_share": vars(RTH_PUBLIC_SHARE),
        "estate_min_ha": vars(ESTATE_MIN_HA), "estate_target_ha": vars(ESTATE_TARGET_HA),
        "max_slope_pct": vars(MAX_SLOPE_PCT), "river_setback_m": {**RIVER_SETBACK_M, "source": RIVER_SETBACK_SOURCE},
        "park_standards": {k: vars(v) for k, v in PARK_STANDARDS.items()}, "park_source": PARK_STANDARDS_SOURCE,
        "underserved_below": vars(UNDERSERVED_BELOW),
    }
