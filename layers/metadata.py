"""What the metadata records (Satu Data Indonesia, Perpres 39/2019) say by default, beyond the layer and raster
declarations: each resource's ISO 19115 topic category, scale and keywords, and the code lists an admin's edits
are checked against. An admin's stored edits override these (gis/data/metadata.py)."""

# ISO 19115 MD_TopicCategoryCode.
TOPIC_CATEGORIES = (
    "farming", "biota", "boundaries", "climatologyMeteorologyAtmosphere", "economy", "elevation", "environment",
    "geoscientificInformation", "health", "imageryBaseMapsEarthCover", "intelligenceMilitary", "inlandWaters",
    "location", "oceans", "planningCadastre", "society", "structure", "transportation", "utilitiesCommunication",
)

# ISO 19115 MD_MaintenanceFrequencyCode.
UPDATE_FREQUENCIES = (
    "continual", "daily", "weekly", "fortnightly", "monthly", "quarterly", "biannually", "annually", "asNeeded",
    "irregular", "notPlanned", "unknown",
)

# CI_RoleCode, the roles a contact may have.
CONTACT_ROLES = (
    "resourceProvider", "custodian", "owner", "user", "distributor", "originator", "pointOfContact",
    "principalInvestigator", "processor", "publisher", "author",
)

DEFAULT_TOPIC = "planningCadastre"
DEFAULT_FREQUENCY = "asNeeded"  # layers are edited when plans and surveys change, not on a schedule
DEFAULT_ROLE = "custodian"
DEFAULT_OPD = "Bappeda {city}"  # the planning agency keeps the city's planning data until an admin names another

# layer id -> topic category; other layers (runtime ones too) are planningCadastre.
LAYER_TOPICS = {
    "kota": "boundaries", "kecamatan": "boundaries", "kelurahan": "boundaries",
    "roads": "transportation", "toll_gates": "transportation", "rivers": "inlandWaters",
    "parks": "environment", "business_centers": "economy", "industrial_zones": "economy",
}

# raster dataset -> topic category.
RASTER_TOPICS = {
    "elevation": "elevation", "slope": "elevation", "flood_hazard": "geoscientificInformation",
    "landcover_2019": "imageryBaseMapsEarthCover", "landcover_2024": "imageryBaseMapsEarthCover",
    "population": "society",
}

# layer id -> scale denominator: the RDTR is drawn at 1:5,000 (Permen ATR/BPN 14/2021).
LAYER_SCALES = {"zoning": 5000, "zoning_overlays": 5000}

# Licences known from the source (SPDX ids); every other resource's licence is left for the data owner to set.
LAYER_LICENCES = {layer: "MIT" for layer in ("kota", "kecamatan", "kelurahan")}

# Keywords every record carries (id, en), besides its title's.
COMMON_KEYWORDS = ("Satu Data Indonesia", "tata ruang", "spatial planning")
