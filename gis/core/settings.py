"""Configuration (pydantic-settings, prefix PETAKOTA_, plus plain DATABASE_URL). Build it where it is used
(`create_app()`, the CLI), never at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5439/petakota"


class CitySettings(BaseModel):
    """The city the service is set up for; another city changes these and imports its boundaries."""

    name: str = "Kota Binjai"
    kode: str = "12.75"  # Kemendagri code
    metric_crs: int = 32647  # WGS 84 / UTM 47N; areas and distances are measured here
    center_lon: float = 98.49
    center_lat: float = 3.60
    zoom: int = 12
    population: int = 315_609  # Dukcapil, December 2024
    map_id: str = "binjai"  # the city's public map (layers/maps.py): the default of /map, embeds and static maps
    project: str = "kawasan-industri-binjai"  # the project monitored by default (project-progress, the map)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETAKOTA_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "PETAKOTA_DATABASE_URL"),
    )
    # The streaming read replica (scripts/replica.sh): reads go there, writes to DATABASE_URL. Empty for none.
    read_database_url: str | None = None
    data_dir: Path = Path("var")
    city: CitySettings = CitySettings()
    pool_size: int = 10
    max_body_mb: int = 10  # largest feature body accepted on write
    # Field evidence: the largest attachment accepted, and how far from its feature a photo may be taken before
    # it is flagged (its EXIF position, measured in the city's metric CRS).
    attachment_max_mb: float = Field(20, gt=0)
    attachment_max_distance_m: float = Field(200, ge=0)
    tile_feature_cap: int = 10_000  # features per layer per vector tile (X-Tile-Truncated says when hit)
    tile_cache_mb: int = 256
    # The largest WMS GetMap image (pixels each way), announced as MaxWidth/MaxHeight in the capabilities.
    wms_max_width: int = Field(4096, ge=256)
    wms_max_height: int = Field(4096, ge=256)
    # Analyses run in this many worker processes (CPU-bound; on 2 cores one leaves a core for tiles and items).
    job_workers: int = 1
    # Region-scale analyses (engine "dask"): a Dask scheduler to send them to (tcp://host:8786, workers on
    # other machines reading the same data directory), else a local cluster of this many single-thread
    # workers, each given this much memory; rasters are scored in chunks of this many cells a side.
    dask_scheduler: str | None = None
    dask_workers: int = Field(2, ge=1)
    dask_worker_memory_gb: float = Field(1.5, gt=0)
    dask_chunk: int = Field(2048, ge=256, le=8192)
    job_retention_hours: float = 72  # finished jobs and their result rasters are deleted after this age
    job_heartbeat_seconds: float = 10  # a running job whose heartbeat is 3x older is failed (its worker died)
    # Longest an exact count may take (numberMatched, layer feature counts); a slower count is left out.
    count_budget_ms: int = Field(500, ge=1)
    # Basemap of the web map; empty for none (a closed intranet shows the city's own layers on a plain background).
    basemap_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    basemap_attribution: str = "© OpenStreetMap contributors"
    # The address clients reach this service at: the `source` of change events (CloudEvents) is built from it.
    public_url: str = "http://localhost:8000"
    # Webhook deliveries: a failed one is retried after base * 2^(attempt-1) seconds, at most cap apart, until
    # it has failed for give_up hours (then an admin may re-send it); each POST waits at most timeout seconds.
    webhook_backoff_seconds: float = Field(5, gt=0)
    webhook_backoff_cap_seconds: float = Field(300, gt=0)
    webhook_give_up_hours: float = Field(72, gt=0)
    webhook_timeout_seconds: float = Field(5, gt=0)
    webhook_poll_seconds: float = Field(1, gt=0)  # how often the delivery worker looks for new events
    webhook_log_days: float = Field(30, gt=0)  # delivered deliveries and their attempts are kept this long
    events_heartbeat_seconds: float = Field(15, gt=0)  # a comment on an idle /events stream keeps proxies open
    # This process's name among the replicas behind a load balancer (scripts/cluster.sh sets it); answers carry it
    # as X-PetaKota-Replica, so an operator sees which replica served a request. Empty: no header.
    replica_name: str = ""
    debug: bool = False

    @property
    def sqlalchemy_url(self) -> str:
        """The same database for SQLAlchemy with the psycopg 3 driver."""
        return _psycopg_url(self.database_url, "DATABASE_URL")

    @property
    def read_sqlalchemy_url(self) -> str | None:
        """The read replica for SQLAlchemy, or None when there is none."""
        if not self.read_database_url:
            return None
        return _psycopg_url(self.read_database_url, "PETAKOTA_READ_DATABASE_URL")

    @property
    def raster_dir(self) -> Path:
        return self.data_dir / "rasters"

    @property
    def attachment_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.attachment_max_mb * 1_000_000)

    @property
    def upload_limit_bytes(self) -> int:
        """The largest upload request: an attachment of the largest size with its multipart framing."""
        return self.attachment_max_bytes + 64_000


def _psycopg_url(url: str, name: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"{name} must be a postgresql:// URL, got {url.split(':', 1)[0]}://...")
