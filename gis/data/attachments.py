"""Field evidence: photos and PDFs attached to a feature of any layer (built-in or runtime).

A file is accepted by what it is (its first bytes), never by its name: JPEG, PNG, HEIC/HEIF (stored as JPEG, so
every browser shows it) and PDF, up to `attachment_max_mb`. It is stored under
`<data_dir>/attachments/<layer>/<feature>/` named by its SHA-256, with a JPEG thumbnail for images. A photo's
EXIF position and time are read; its distance to the feature is measured in the city's metric CRS and a photo
taken farther than `attachment_max_distance_m` is flagged `far`. Attachments are private unless made public;
adding and removing one is written to the feature's history. Removal only marks the row: the file stays, for
the history and the backups."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.ExifTags import GPS, IFD, Base
from sqlalchemy import Connection, Engine, text

from gis.core.errors import InvalidInput, NotFound, TooLarge, UnsupportedType
from gis.core.settings import Settings
from gis.data import key_scope
from gis.data.auth import Principal
from gis.data.registry import find_layer
from layers.schema import Layer

ACCEPTED = "JPEG, PNG or HEIC/HEIF photos and PDF documents"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}
THUMBNAIL_PX = 320
# What a caller sees of an attachment (the file's place on disk stays inside the service).
PUBLIC_COLUMNS = ("id", "layer", "feature_id", "filename", "media_type", "size_bytes", "sha256", "public",
                  "taken_at", "lon", "lat", "distance_m", "far", "uploaded_by", "uploaded_at")

Actor = str | Principal


def sniff(data: bytes) -> str:
    """The media type of a file from its first bytes: image/jpeg, image/png, image/heic or application/pdf."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic"
    raise UnsupportedType(f"this file is not one PetaKota takes: attach {ACCEPTED} (the type is read from the "
                          "file's content, not its name)")


def _register_heif() -> None:
    try:
        import pillow_heif
    except ImportError:
        raise UnsupportedType(f"HEIC photos cannot be read by this installation (pillow-heif is missing): "
                              f"set the camera to JPEG, or attach {ACCEPTED.replace('HEIC/HEIF ', '')}") from None
    pillow_heif.register_heif_opener()


def _open_image(data: bytes, media_type: str) -> Image.Image:
    if media_type == "image/heic":
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError:
        raise TooLarge(f"the image has more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels: send a photo of a lower "
                       "resolution") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        kind = media_type.split("/")[1].upper()
        raise UnsupportedType(f"the file starts like a {kind} image but cannot be read as one (damaged or "
                              f"cut short): attach the photo again, as {ACCEPTED}") from None
    return image


def _degrees(value, ref) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    sign = -1 if str(ref).strip().upper() in ("S", "W") else 1
    return sign * (d + m / 60 + s / 3600)


def read_exif(image: Image.Image) -> tuple[float | None, float | None, datetime | None]:
    """(lon, lat, time taken) from a photo's EXIF (GPS IFD, DateTimeOriginal); None for what it lacks. The time
    is the camera's local clock, as EXIF gives it."""
    try:
        return _exif(image)
    except Exception:  # noqa: BLE001 - a damaged EXIF block loses its position and time, not the photo
        return None, None, None


def _exif(image: Image.Image) -> tuple[float | None, float | None, datetime | None]:
    exif = image.getexif()
    gps = exif.get_ifd(IFD.GPSInfo)
    lat = _degrees(gps.get(GPS.GPSLatitude), gps.get(GPS.GPSLatitudeRef, "N"))
    lon = _degrees(gps.get(GPS.GPSLongitude), gps.get(GPS.GPSLongitudeRef, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        lon = lat = None  # (0, 0): a camera without a fix
    raw = exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal) or exif.get(Base.DateTime)
    try:
        taken = datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if raw else None
    except ValueError:
        taken = None
    return lon, lat, taken


def _thumbnail(image: Image.Image) -> bytes:
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def _as_jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    exif = image.info.get("exif") or image.getexif().tobytes()
    image.convert("RGB").save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    """Atomically: a reader never sees half a file (the name is the content's hash, so an existing one is equal)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _clean_name(filename: str | None, ext: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", (filename or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    name = name[-200:] or f"lampiran.{ext}"
    if ext == "jpg" and not name.lower().endswith((".jpg", ".jpeg")):  # a converted HEIC is a JPEG now
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}.jpg"
    return name


def _actor_name(actor: Actor) -> str:
    return actor.name if isinstance(actor, Principal) else str(actor)


def _feature(conn: Connection, layer: Layer, fid: int, default_srid: int):
    """(version, metric SRID of the feature's city) of a stored feature, or NotFound."""
    row = conn.execute(text(
        f"SELECT t.version, coalesce(k.metric_crs, :srid) AS srid FROM {layer.id} t "
        f"LEFT JOIN kota k ON k.kode = t.kabkota WHERE t.id = :id"), {"id": fid, "srid": default_srid}).first()
    if row is None:
        raise NotFound(f"collection {layer.id!r} has no feature {fid}: attachments go on an existing feature")
    return row


def _check_writer(conn: Connection, layer: Layer, fid: int, actor: Actor) -> None:
    if isinstance(actor, Principal):
        key_scope.check_layer(actor, layer)
        key_scope.check_city(conn, actor, layer, fid, "stored")


def _metadata(row) -> dict:
    out = {c: getattr(row, c) for c in PUBLIC_COLUMNS}
    for c in ("taken_at", "uploaded_at"):
        out[c] = out[c].isoformat() if out[c] else None
    out["thumbnail"] = row.thumbnail_path is not None
    return out


def _record(conn: Connection, layer: Layer, fid: int, action: str, actor: Actor, meta: dict) -> None:
    """One entry of the feature's history (at its current version), so the history lists the evidence."""
    conn.execute(text(
        "INSERT INTO feature_history (layer, feature_id, version, action, actor, after) "
        f"SELECT :layer, :fid, coalesce((SELECT version FROM {layer.id} WHERE id = :fid), "
        "(SELECT max(version) FROM feature_history WHERE layer = :layer AND feature_id = :fid), 1), "
        ":action, :actor, CAST(:after AS jsonb)"),
        {"layer": layer.id, "fid": fid, "action": action, "actor": _actor_name(actor), "after": json.dumps(meta)})


def add(engine: Engine, settings: Settings, layer: Layer, fid: int, filename: str | None, data: bytes,
        actor: Actor, public: bool = False) -> dict:
    """Attach a file to feature `fid` of `layer`; returns the attachment's metadata."""
    limit = settings.attachment_max_bytes
    if len(data) > limit:
        raise TooLarge(f"the file is {len(data) / 1e6:.1f} MB; an attachment may be at most {limit / 1e6:g} MB: "
                       "send a smaller photo (or a lower resolution) or split the PDF")
    if not data:
        raise InvalidInput("the file is empty: choose the photo or PDF again")
    media_type = sniff(data)
    image = thumb = None
    lon = lat = taken = None
    if media_type != "application/pdf":
        image = _open_image(data, media_type)
        lon, lat, taken = read_exif(image)
        if media_type == "image/heic":
            data, media_type = _as_jpeg(image), "image/jpeg"
        thumb = _thumbnail(image)
    ext = EXTENSIONS[media_type]
    digest = hashlib.sha256(data).hexdigest()
    folder = Path("attachments") / layer.id / str(fid)
    path, thumb_path = folder / f"{digest}.{ext}", (folder / f"{digest}.thumb.jpg" if thumb else None)
    with engine.begin() as conn:
        _check_writer(conn, layer, fid, actor)
        feature = _feature(conn, layer, fid, settings.city.metric_crs)
        distance = None
        if lon is not None:
            distance = conn.execute(text(
                f"SELECT ST_Distance(ST_Transform(geom, CAST(:srid AS integer)), "
                f"ST_Transform(ST_SetSRID(ST_Point(:lon, :lat), 4326), CAST(:srid AS integer))) "
                f"FROM {layer.id} WHERE id = :id"), {"srid": feature.srid, "lon": lon, "lat": lat, "id": fid}).scalar()
        _write(settings.data_dir / path, data)
        if thumb:
            _write(settings.data_dir / thumb_path, thumb)
        row = conn.execute(text(
            "INSERT INTO attachments (layer, feature_id, filename, media_type, size_bytes, sha256, path, "
            "thumbnail_path, public, taken_at, lon, lat, distance_m, far, uploaded_by) VALUES (:layer, :fid, "
            ":filename, :media_type, :size, :sha, :path, :thumb, :public, :taken, :lon, :lat, :distance, :far, "
            ":by) RETURNING *"),
            {"layer": layer.id, "fid": fid, "filename": _clean_name(filename, ext), "media_type": media_type,
             "size": len(data), "sha": digest, "path": path.as_posix(),
             "thumb": thumb_path.as_posix() if thumb_path else None, "public": bool(public), "taken": taken,
             "lon": lon, "lat": lat, "distance": distance,
             "far": None if distance is None else distance > settings.attachment_max_distance_m,
             "by": _actor_name(actor)}).one()
        meta = _metadata(row)
        _record(conn, layer, fid, "attach", actor, meta)
    return meta


def list_for(conn: Connection, layer: Layer, fid: int, who: Principal) -> list[dict]:
    """The attachments of a feature the caller may see: all of them for a caller who reads the feature's private
    part, else the public ones (the caller already sees the layer)."""
    everything = key_scope.reads_private_of(conn, who, layer, fid)
    if conn.execute(text(f"SELECT 1 FROM {layer.id} WHERE id = :id"), {"id": fid}).first() is None:
        raise NotFound(f"collection {layer.id!r} has no feature {fid}")
    rows = conn.execute(text(
        "SELECT * FROM attachments WHERE layer = :layer AND feature_id = :fid AND deleted_at IS NULL "
        "AND (public OR :all) ORDER BY uploaded_at, id"), {"layer": layer.id, "fid": fid, "all": everything}).all()
    out = [_metadata(r) for r in rows]
    if not everything:
        for meta in out:
            meta["uploaded_by"] = None  # who is not told to the public, as in the history
    return out


def _stored(conn: Connection, aid: int, who: Principal) -> tuple[object, Layer]:
    """An attachment row and its layer, when the caller may see it; else NotFound (never Forbidden, which would
    tell that a private one exists)."""
    missing = NotFound(f"no attachment {aid}")
    row = conn.execute(text("SELECT * FROM attachments WHERE id = :id AND deleted_at IS NULL"), {"id": aid}).first()
    if row is None:
        raise missing
    try:
        layer = find_layer(conn, row.layer)
    except NotFound:
        raise missing from None
    if not who.sees_layer(layer):
        raise missing
    if not row.public and not key_scope.reads_private_of(conn, who, layer, row.feature_id):
        raise missing
    return row, layer


def get(conn: Connection, aid: int, who: Principal) -> dict:
    """The metadata of one attachment the caller may see, with `path` and `thumbnail_path` for serving it."""
    row, _ = _stored(conn, aid, who)
    return {**_metadata(row), "path": row.path, "thumbnail_path": row.thumbnail_path}


def _change(engine: Engine, aid: int, actor: Principal, work) -> dict:
    with engine.begin() as conn:
        row, layer = _stored(conn, aid, actor)
        _check_writer(conn, layer, row.feature_id, actor)
        return work(conn, row, layer)


def set_public(engine: Engine, aid: int, public: bool, actor: Principal) -> dict:
    """Show an attachment to the public, or hide it again."""
    if not isinstance(public, bool):
        raise InvalidInput('send {"public": true} or {"public": false}')

    def work(conn, row, layer):
        changed = conn.execute(text("UPDATE attachments SET public = :p WHERE id = :id RETURNING *"),
                               {"p": public, "id": aid}).one()
        if changed.public != row.public:  # who showed it to the public, or hid it again, and when
            _record(conn, layer, row.feature_id, "publish" if public else "unpublish", actor, _metadata(changed))
        return _metadata(changed)

    return _change(engine, aid, actor, work)


def remove(engine: Engine, aid: int, actor: Principal) -> None:
    """Take an attachment off its feature (the row is marked, the file kept) and say so in the history."""

    def work(conn, row, layer):
        gone = conn.execute(text("UPDATE attachments SET deleted_at = now() WHERE id = :id RETURNING *"),
                            {"id": aid}).one()
        _record(conn, layer, row.feature_id, "detach", actor, {**_metadata(gone),
                                                               "deleted_at": gone.deleted_at.isoformat()})

    _change(engine, aid, actor, work)


def file_path(settings: Settings, relative: str) -> Path:
    """The file of an attachment on disk (paths are relative to the data directory, as the backups carry them)."""
    return settings.data_dir / relative
