"""Field evidence over real HTTP: photos (JPEG with EXIF written by Pillow, PNG, HEIC) and a PDF attached to
features; positions, times and distances read back and checked against a distance measured here in EPSG:32647;
thumbnails; who may add, see, publish and remove them; history; the size and type limits."""

from __future__ import annotations

import io
import time
from datetime import datetime

import httpx
import pillow_heif
import pytest
import shapely
from PIL import Image
from PIL.ExifTags import GPS, IFD, Base
from pyproj import Transformer
from sqlalchemy import text

from gis.core.errors import TooLarge
from gis.data import attachments
from gis.data.auth import create_key
from gis.data.registry import create_layer
from layers import CATALOG, Field, Layer, Style
from tests.conftest import problem_of

TO_METRIC = Transformer.from_crs(4326, 32647, always_xy=True)
TO_LONLAT = Transformer.from_crs(32647, 4326, always_xy=True)
TAKEN = datetime(2026, 11, 20, 9, 15, 30)


def minimal_pdf() -> bytes:
    """A valid one-page PDF, its cross-reference table pointing at each object's byte offset."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


PDF = minimal_pdf()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), (value - d - m / 60) * 3600


def photo(lon: float | None = None, lat: float | None = None, size=(800, 600), fmt="JPEG") -> bytes:
    """A photo written by Pillow, with its EXIF position (GPS IFD) and time (DateTimeOriginal)."""
    image = Image.new("RGB", size, (40, 140, 60))
    image.paste((200, 60, 40), (0, 0, size[0] // 3, size[1] // 3))
    exif = Image.Exif()
    if lon is not None:
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[GPS.GPSLatitudeRef], gps[GPS.GPSLatitude] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[GPS.GPSLongitudeRef], gps[GPS.GPSLongitude] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = TAKEN.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def park(engine):
    """(id, polygon in EPSG:32647, a point inside it, a point 1 km north of that) of a Binjai park."""
    with engine.connect() as conn:
        fid, wkb = conn.execute(text("SELECT id, ST_AsBinary(geom) FROM parks WHERE kabkota = '12.75' "
                                     "ORDER BY area_ha DESC LIMIT 1")).one()
    metric = shapely.transform(shapely.from_wkb(bytes(wkb)), TO_METRIC.transform, interleaved=False)
    inside = metric.point_on_surface()
    away = shapely.Point(inside.x, inside.y + 1000)
    lonlat = [TO_LONLAT.transform(p.x, p.y) for p in (inside, away)]
    return fid, metric, lonlat[0], lonlat[1]


@pytest.fixture(scope="module")
def planner(server, keys):
    with httpx.Client(base_url=server, timeout=60, headers={"X-API-Key": keys["planner"]}) as client:
        yield client


def upload(client, layer: str, fid: int, data: bytes, name: str = "foto.jpg", **form):
    return client.post(f"/collections/{layer}/items/{fid}/attachments", files={"file": (name, data)},
                       data={k: str(v).lower() for k, v in form.items()})


def expected_distance(metric_geom, lon: float, lat: float) -> float:
    return metric_geom.distance(shapely.Point(*TO_METRIC.transform(lon, lat)))


def test_a_photo_round_trips_with_its_position_time_distance_and_thumbnail(planner, http, park):
    fid, metric, (lon, lat), _ = park
    data = photo(lon, lat)
    r = upload(planner, "parks", fid, data, "IMG_0001.JPG")
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["media_type"] == "image/jpeg" and meta["size_bytes"] == len(data) and meta["public"] is False
    assert abs(meta["lon"] - lon) < 1e-6 and abs(meta["lat"] - lat) < 1e-6
    assert meta["taken_at"] == TAKEN.isoformat()
    # the EXIF position written at 1/100 arc-second or finer: the stored one is measured from it
    assert meta["distance_m"] == pytest.approx(expected_distance(metric, meta["lon"], meta["lat"]), abs=0.01)
    assert meta["distance_m"] < 1 and meta["far"] is False
    assert r.headers["location"].endswith(f"/attachments/{meta['id']}")

    got = planner.get(f"/attachments/{meta['id']}")
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/jpeg"
    thumb = planner.get(f"/attachments/{meta['id']}/thumbnail")
    image = Image.open(io.BytesIO(thumb.content))
    assert image.format == "JPEG" and image.size == (320, 240)  # longest side 320, 800x600 kept in proportion

    listed = planner.get(f"/collections/parks/items/{fid}/attachments").json()["attachments"]
    assert meta["id"] in [a["id"] for a in listed]
    # private by default: the public neither lists nor fetches it, and is not told it exists
    assert meta["id"] not in [a["id"] for a in http.get(f"/collections/parks/items/{fid}/attachments")
                              .json()["attachments"]]
    for path in (f"/attachments/{meta['id']}", f"/attachments/{meta['id']}/thumbnail"):
        assert problem_of(http.get(path))["status"] == 404
    links = http.get(f"/collections/parks/items/{fid}").json()["links"]
    assert any(link["rel"] == "attachments" and link["href"].endswith(f"/items/{fid}/attachments")
               for link in links)


def test_a_photo_taken_1_km_away_is_flagged_far(planner, park):
    fid, metric, _, (lon, lat) = park
    meta = upload(planner, "parks", fid, photo(lon, lat)).json()
    expected = expected_distance(metric, lon, lat)
    assert expected > 200
    assert meta["distance_m"] == pytest.approx(expected, abs=0.05) and meta["far"] is True
    no_gps = upload(planner, "parks", fid, photo()).json()
    assert no_gps["lon"] is None and no_gps["distance_m"] is None and no_gps["far"] is None


def test_png_and_pdf_are_taken_by_content_not_by_name(planner, park):
    fid = park[0]
    png = photo(size=(400, 1000), fmt="PNG")
    meta = upload(planner, "parks", fid, png, "foto.jpg").json()  # a PNG named .jpg is a PNG
    assert meta["media_type"] == "image/png" and meta["taken_at"] == TAKEN.isoformat()
    assert planner.get(f"/attachments/{meta['id']}").content == png
    assert Image.open(io.BytesIO(planner.get(f"/attachments/{meta['id']}/thumbnail").content)).size == (128, 320)

    pdf = upload(planner, "parks", fid, PDF, "berita acara.pdf").json()
    assert pdf["media_type"] == "application/pdf" and pdf["thumbnail"] is False
    assert pdf["filename"] == "berita acara.pdf"
    got = planner.get(f"/attachments/{pdf['id']}")
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert problem_of(planner.get(f"/attachments/{pdf['id']}/thumbnail"))["status"] == 404


def test_a_heic_photo_is_stored_as_a_jpeg_of_the_same_size_keeping_its_position(planner, park):
    fid, metric, (lon, lat), _ = park
    heic = photo(lon, lat, size=(640, 480), fmt="HEIF")
    assert heic[4:12] == b"ftypheic"
    meta = upload(planner, "parks", fid, heic, "IMG_0002.HEIC").json()
    assert meta["media_type"] == "image/jpeg" and meta["filename"] == "IMG_0002.jpg"
    stored = planner.get(f"/attachments/{meta['id']}").content
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (640, 480)
    assert abs(meta["lat"] - lat) < 1e-6 and meta["far"] is False
    assert attachments.read_exif(image)[:2] == pytest.approx((meta["lon"], meta["lat"]))


def test_other_files_are_refused_with_the_accepted_types(planner, park, engine):
    fid = park[0]
    before = _count(engine)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    for name, data in (("foto.jpg", b"not a photo at all"), ("anim.gif", gif.getvalue()),
                       ("rusak.jpg", photo()[:200])):
        body = problem_of(upload(planner, "parks", fid, data, name))
        assert body["status"] == 415 and "JPEG, PNG or HEIC/HEIF photos and PDF" in body["detail"], name
    assert problem_of(planner.post(f"/collections/parks/items/{fid}/attachments", data={"x": "1"}))["status"] == 400
    assert _count(engine) == before


def test_a_file_over_the_limit_is_refused(planner, park, engine, settings):
    fid = park[0]
    before = _count(engine)
    r = upload(planner, "parks", fid, b"\xff\xd8\xff" + b"\0" * 21_000_000)  # over the default 20 MB
    assert problem_of(r)["status"] == 413 and "20 MB" in problem_of(r)["detail"]
    data = photo()
    small = settings.model_copy(update={"attachment_max_mb": (len(data) - 1) / 1e6})
    with pytest.raises(TooLarge, match=f"at most {(len(data) - 1) / 1e6:g} MB"):
        attachments.add(engine, small, CATALOG["parks"], fid, "foto.jpg", data, "uji")
    assert _count(engine) == before


def test_who_may_attach(http, keys, engine, park, server):
    fid = park[0]
    with engine.begin() as conn:
        deli_serdang = create_key(conn, "Uji planner Deli Serdang", "planner", ["12.07"])[1]
        zoning_only = create_key(conn, "Uji planner zoning", "planner", None, ["zoning"])[1]
    assert problem_of(upload(http, "parks", fid, photo()))["status"] == 401
    for key, status in ((keys["analyst"], 403), (deli_serdang, 403), (zoning_only, 403)):
        r = upload(httpx.Client(base_url=server, headers={"X-API-Key": key}), "parks", fid, photo())
        assert problem_of(r)["status"] == status
    planner = httpx.Client(base_url=server, headers={"X-API-Key": keys["planner"]})
    assert "no feature 99999999" in problem_of(upload(planner, "parks", 99_999_999, photo()))["detail"]
    assert problem_of(upload(planner, "no_such_layer", 1, photo()))["status"] == 404


def test_public_attachments_are_seen_by_the_public_until_hidden(planner, http, park):
    fid = park[0]
    meta = upload(planner, "parks", fid, photo(size=(300, 200)), public=True).json()
    assert meta["public"] is True
    seen = http.get(f"/collections/parks/items/{fid}/attachments").json()["attachments"]
    mine = [a for a in seen if a["id"] == meta["id"]]
    assert mine and mine[0]["uploaded_by"] is None  # the uploader's name is not public
    assert all(a["public"] for a in seen)
    assert http.get(f"/attachments/{meta['id']}").status_code == 200
    assert problem_of(http.patch(f"/attachments/{meta['id']}", json={"public": False}))["status"] == 401
    r = planner.patch(f"/attachments/{meta['id']}", json={"public": False})
    assert r.status_code == 200 and r.json()["public"] is False
    assert problem_of(http.get(f"/attachments/{meta['id']}"))["status"] == 404
    assert problem_of(planner.patch(f"/attachments/{meta['id']}", json={"public": "ya"}))["status"] == 400
    assert planner.patch(f"/attachments/{meta['id']}", json={"public": False}).status_code == 200  # no change
    assert planner.patch(f"/attachments/{meta['id']}", json={"public": True}).status_code == 200
    # who hid it and who showed it again are in the feature's history, once each; the public sees the entries
    # of attachments that are public now, without who
    history = planner.get(f"/collections/parks/items/{fid}/history").json()["history"]
    actions = [e["action"] for e in history if (e["after"] or {}).get("id") == meta["id"]]
    assert actions == ["attach", "unpublish", "publish"]
    assert {e["actor"] for e in history if e["action"] in ("publish", "unpublish")} == {"Uji planner (planner)"}
    public_view = http.get(f"/collections/parks/items/{fid}/history").json()["history"]
    shown = [e for e in public_view if (e["after"] or {}).get("id") == meta["id"]]
    assert [e["action"] for e in shown] == ["attach", "unpublish", "publish"]
    assert all(e["actor"] is None and "uploaded_by" not in e["after"] for e in shown)


def test_a_private_layers_attachments_are_never_shown_to_the_public(planner, http, engine, settings, keys):
    layer = Layer(id="uji_bukti", title_id="Bukti uji", title_en="Test evidence", geometry_type="Point",
                  fields=(Field("nama", "text", "Nama", "Name"),), style=Style(color="#d62728"), source="uji",
                  illustrative=True, public=False)
    with engine.begin() as conn:
        create_layer(conn, layer, settings.city.metric_crs)
        fid = conn.execute(text("INSERT INTO uji_bukti (nama, geom) VALUES ('tiang', ST_Point(98.49, 3.6, 4326)) "
                                "RETURNING id")).scalar()
    deadline = time.time() + 10
    while (r := upload(planner, "uji_bukti", fid, photo(98.49, 3.6), public=True)).status_code == 404:
        assert time.time() < deadline, r.text  # the catalog picks the new layer up within its refresh time
        time.sleep(0.5)
    meta = r.json()
    assert meta["public"] is True and meta["distance_m"] < 0.5
    assert problem_of(http.get(f"/collections/uji_bukti/items/{fid}/attachments"))["status"] == 404
    assert problem_of(http.get(f"/attachments/{meta['id']}"))["status"] == 404
    analyst = {"X-API-Key": keys["analyst"]}
    assert http.get(f"/attachments/{meta['id']}", headers=analyst).status_code == 200


def test_adding_and_removing_is_in_the_history_and_removal_keeps_the_file(planner, http, park, engine, settings):
    fid = park[0]
    private = upload(planner, "parks", fid, photo(size=(200, 100)), "rahasia.jpg").json()
    public = upload(planner, "parks", fid, photo(size=(220, 100)), "terbuka.jpg", public=True).json()
    assert planner.delete(f"/attachments/{private['id']}").status_code == 204

    history = planner.get(f"/collections/parks/items/{fid}/history").json()["history"]
    attached = {e["after"]["id"]: e for e in history if e["action"] == "attach"}
    assert attached[private["id"]]["after"]["sha256"] == private["sha256"]
    assert attached[private["id"]]["actor"].startswith("Uji planner")
    detached = [e for e in history if e["action"] == "detach"]
    assert detached[-1]["after"]["id"] == private["id"] and detached[-1]["after"]["deleted_at"]
    public_view = http.get(f"/collections/parks/items/{fid}/history").json()["history"]
    shown = {e["after"]["id"] for e in public_view if e["action"] in ("attach", "detach")}
    assert public["id"] in shown and private["id"] not in shown
    assert all("uploaded_by" not in (e["after"] or {}) for e in public_view if e["action"] == "attach")
    page = http.get(f"/collections/parks/items/{fid}/history?f=html")
    assert page.status_code == 200 and "terbuka.jpg" in page.text and "rahasia.jpg" not in page.text
    assert "rahasia.jpg" in planner.get(f"/collections/parks/items/{fid}/history?f=html").text

    assert private["id"] not in [a["id"] for a in planner.get(f"/collections/parks/items/{fid}/attachments")
                                 .json()["attachments"]]
    assert problem_of(planner.get(f"/attachments/{private['id']}"))["status"] == 404
    assert problem_of(planner.delete(f"/attachments/{private['id']}"))["status"] == 404
    with engine.connect() as conn:
        path, deleted = conn.execute(text("SELECT path, deleted_at FROM attachments WHERE id = :id"),
                                     {"id": private["id"]}).one()
    assert deleted is not None and (settings.data_dir / path).is_file()
    assert problem_of(http.delete(f"/attachments/{public['id']}"))["status"] == 401


def test_a_feature_with_attachments_is_restored_from_its_own_versions(planner, engine):
    """An attachment's history entry carries the feature's version: a restore to that version takes the
    feature's own state, never the attachment's."""
    with engine.connect() as conn:
        fid, name = conn.execute(text("SELECT id, nama FROM parks WHERE kabkota = '12.75' ORDER BY id LIMIT 1")).one()
    etag = planner.get(f"/collections/parks/items/{fid}").headers["etag"]
    assert upload(planner, "parks", fid, photo()).status_code == 201  # an attach entry at this version
    r = planner.patch(f"/collections/parks/items/{fid}", json={"properties": {"nama": "Taman sementara"}},
                      headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
    assert r.status_code == 204, r.text
    r = planner.post(f"/collections/parks/items/{fid}/history/{etag.strip(chr(34))}/restore",
                     headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 204, r.text
    assert planner.get(f"/collections/parks/items/{fid}").json()["properties"]["nama"] == name


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM attachments")).scalar()
