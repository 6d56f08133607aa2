"""Leak scan of what geoportals and command centers read: WFS 2.0.0 (GetCapabilities, DescribeFeatureType and
GetFeature in GML and GeoJSON for every feature type), WMS and WMTS (reliability/leaks_ows.py), the metadata
catalogue (every record as OGC API - Records JSON, ISO 19139 XML and DCAT JSON-LD, and the catalogue-level DCAT),
the change event stream (`/events`, replayed from the start of the history with `Last-Event-ID`) and webhook
administration (admins only).

Private values here, besides those of reliability/leaks.py: contact e-mails not declared public, the names of
the keys and people who edited (feature history, metadata edits, webhook registrations; a person's name is
personal data) and the receivers' webhook URLs. Beyond the text search, the answers are checked for what no
value reveals: a WFS feature type, a catalogue record, an event or a WMS/WMTS layer of a layer that anonymous
callers do not see listed in /collections, an event with an actor, an admin page that answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from lxml import etree
from sqlalchemy import Engine, text

from reliability import leaks_ows

if TYPE_CHECKING:
    from reliability.leaks import Scanner

SURFACES = ("wfs", "catalog", "events", "webhooks", "wms", "wmts")
CATALOG_ID = "catalog"  # the collection of metadata records
WFS_NS = {"wfs": "http://www.opengis.net/wfs/2.0"}
WFS_BASE = {"service": "WFS", "version": "2.0.0"}
GML = "application/gml+xml; version=3.2"
DENIED = (401, 403)

_GEOPORTAL_VALUES = {
    "metadata.contact_email (not public)": "SELECT contact_email FROM metadata WHERE contact_email IS NOT NULL "
                                           "AND NOT coalesce(contact_email_public, false)",
    "feature_history.actor": "SELECT DISTINCT actor FROM feature_history",
    "metadata.updated_by": "SELECT updated_by FROM metadata UNION SELECT changed_by FROM metadata_history",
    "webhooks.created_by": "SELECT created_by FROM webhooks",
    "webhooks.url": "SELECT url FROM webhooks",
}
# E-mails an admin declared public: the same address kept private on another record proves nothing when shown.
_PUBLIC_EMAILS = "SELECT contact_email FROM metadata WHERE contact_email IS NOT NULL AND contact_email_public"


def geoportal_private_values(engine: Engine) -> dict[str, set[str]]:
    """label -> the private values of the geoportal surfaces (see the module's docstring), as text."""
    out: dict[str, set[str]] = {}
    with engine.connect() as conn:
        public = {v for (v,) in conn.execute(text(_PUBLIC_EMAILS))}
        for label, sql in _GEOPORTAL_VALUES.items():
            vals = {str(v).strip() for (v,) in conn.execute(text(sql)) if v is not None}
            out[label] = {v for v in vals if len(v) >= 4 and v not in public}
    return out


@dataclass
class Coverage:
    """Per surface: requests made, findings added and seconds taken; events replayed from the stream."""

    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SURFACES, 0))
    findings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SURFACES, 0))
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SURFACES, 0.0))
    events: int = 0


def crawl_geoportal(base: str, engine: Engine, scanner: Scanner, problems: list[str], key: str | None = None,
                    surfaces: tuple[str, ...] = SURFACES, idle_seconds: float = 3.0) -> Coverage:
    """Fetch the geoportal surfaces (anonymously, or with `key` for a control) and scan every answer. Answers
    other than those expected for an anonymous caller (or, with a key, a caller it allows) go to `problems`."""
    cov = Coverage()
    headers = {"X-API-Key": key} if key else {}
    with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
        listed = httpx.get(f"{base}/collections", timeout=60).json()["collections"]
        public_layers = {c["id"] for c in listed if c.get("geometryType")}  # what anonymous callers see
        public_rasters = {r["id"] for r in httpx.get(f"{base}/rasters", timeout=60).json()["rasters"]}

        def get(surface: str, path: str, expect=(200,), **params) -> httpx.Response:
            r = http.get(path, params=params or None)
            cov.requests[surface] += 1
            label = f"GET {r.request.url.raw_path.decode()}"
            if r.status_code not in expect:
                problems.append(f"{label} -> {r.status_code} {r.text[:200]}")
            scanner.scan_response(label, r)  # error bodies too: a refusal must not echo private data
            return r

        steps: dict[str, Callable[[], None]] = {
            "wfs": lambda: _wfs(get, scanner, public_layers),
            "catalog": lambda: _catalog(get, scanner, public_layers, key),
            "events": lambda: _events(base, headers, engine, scanner, problems, public_layers, cov, idle_seconds,
                                      get if key is None else None),
            "webhooks": lambda: _webhooks(http, get, engine, scanner, problems, cov, key),
            "wms": lambda: leaks_ows.crawl_wms(get, scanner, problems, engine, public_layers, key),
            "wmts": lambda: leaks_ows.crawl_wmts(get, scanner, engine, public_layers | public_rasters, key),
        }
        for surface in surfaces:
            before, started = len(scanner.findings), time.monotonic()
            steps[surface]()
            cov.findings[surface] = len(scanner.findings) - before
            cov.seconds[surface] = round(time.monotonic() - started, 2)
    return cov


def _wfs(get, scanner: Scanner, public_layers: set[str]) -> None:
    """GetCapabilities; DescribeFeatureType (XML Schema and JSON) and GetFeature (GML 3.2 and GeoJSON, the first
    10,000 features) of every feature type it lists; a type anonymous callers do not see is a finding."""
    caps = get("wfs", "/wfs", **WFS_BASE, request="GetCapabilities")
    names = [n.text for n in etree.fromstring(caps.content).iterfind(".//wfs:FeatureType/wfs:Name", WFS_NS)]
    if not names:
        scanner.findings.append("WFS GetCapabilities lists no feature type")
    for name in names:
        layer = name.split(":", 1)[-1]
        if layer not in public_layers:
            scanner.findings.append(f"WFS GetCapabilities lists {name}, a layer anonymous callers do not see")
        get("wfs", "/wfs", **WFS_BASE, request="DescribeFeatureType", typeNames=name)
        get("wfs", "/wfs", **WFS_BASE, request="DescribeFeatureType", typeNames=name,
            outputFormat="application/json")
        for fmt in (GML, "application/json"):
            get("wfs", "/wfs", **WFS_BASE, request="GetFeature", typeNames=name, outputFormat=fmt, count=10000)


def _catalog(get, scanner: Scanner, public_layers: set[str], key: str | None) -> None:
    """The catalogue collection, its records (one page of all of them) and each record as JSON, ISO 19139 and
    DCAT, and the catalogue as DCAT; a record of a layer anonymous callers do not see is a finding. The admin's
    view of a record must be refused."""
    get("catalog", f"/collections/{CATALOG_ID}")
    get("catalog", f"/collections/{CATALOG_ID}/queryables")
    records = get("catalog", f"/collections/{CATALOG_ID}/items", limit=10000).json()["features"]
    if not records:
        scanner.findings.append("the metadata catalogue holds no record")
    get("catalog", "/catalog.jsonld")
    for rec in records:
        rid, props = rec["id"], rec["properties"]
        if props.get("resourceType") == "layer" and rid not in public_layers:
            scanner.findings.append(f"catalogue record {rid!r} describes a layer anonymous callers do not see")
        for fmt in ("json", "iso", "dcat"):
            get("catalog", f"/collections/{CATALOG_ID}/items/{rid}", f=fmt)
    if records:
        get("catalog", f"/admin/metadata/{records[0]['id']}", DENIED if key is None else (200, 403))


def first_event_id(engine: Engine) -> int | None:
    """The first event of the history: a stream resumed after it replays every later one."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM feature_history ORDER BY txid, id LIMIT 1")).scalar()


def read_stream(base: str, headers: dict, idle_seconds: float, max_seconds: float = 120) -> tuple[int, str]:
    """Open /events and read until it has been quiet for `idle_seconds` (the history replayed: the stream
    sends a heartbeat comment only after 15 quiet seconds), or `max_seconds` passed. Returns (status, text)."""
    chunks: list[str] = []
    timeout = httpx.Timeout(30, read=idle_seconds)
    deadline = time.monotonic() + max_seconds
    with httpx.Client(base_url=base, timeout=timeout, headers=headers) as http:
        try:
            with http.stream("GET", "/events") as r:
                if r.status_code != 200:
                    return r.status_code, r.read().decode("utf-8", "replace")
                for chunk in r.iter_text():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        break
        except httpx.ReadTimeout:
            pass  # caught up
    return 200, "".join(chunks)


def parse_events(body: str) -> list[dict]:
    """The `data:` of every Server-Sent Event in `body`, as JSON."""
    out = []
    for frame in body.split("\n\n"):
        data = [line[5:].lstrip() for line in frame.splitlines() if line.startswith("data:")]
        if data:
            out.append(json.loads("\n".join(data)))
    return out


def _events(base, headers, engine, scanner: Scanner, problems, public_layers, cov: Coverage, idle_seconds,
            get) -> None:
    """The whole history replayed (Last-Event-ID: the first event): every event must be of a layer anonymous
    callers see, and carry no actor. Anonymously, a private layer's stream must be refused (`get` given)."""
    first = first_event_id(engine)
    if first is None:
        scanner.findings.append("no event to replay: the feature history is empty")
        return
    status, body = read_stream(base, {**headers, "Last-Event-ID": str(first)}, idle_seconds)
    cov.requests["events"] += 1
    if status != 200:
        problems.append(f"GET /events (Last-Event-ID {first}) -> {status} {body[:200]}")
        return
    scanner.scan_text(f"GET /events (Last-Event-ID {first})", body, "sse")
    events = parse_events(body)
    cov.events = len(events)
    if not events:
        scanner.findings.append(f"GET /events (Last-Event-ID {first}) replayed no event")
    outside = sorted({e["data"]["collection"] for e in events} - public_layers)
    if outside:
        scanner.findings.append(f"GET /events carries events of {', '.join(outside)} (not public layers)")
    actors = sorted({e["data"]["actor"] for e in events if e["data"].get("actor") is not None})
    if actors:
        scanner.findings.append(f"GET /events carries actors: {', '.join(actors[:5])}")
    if get is not None:
        with engine.connect() as conn:
            layers = conn.execute(text("SELECT DISTINCT layer FROM feature_history")).scalars().all()
        for layer in sorted(set(layers) - public_layers):
            get("events", "/events", (404,), collections=layer)


def _webhooks(http: httpx.Client, get, engine: Engine, scanner: Scanner, problems: list[str], cov: Coverage,
              key: str | None) -> None:
    """Webhook administration: the list, each webhook, its delivery log; registering one. Refused unless the
    key is an admin's."""
    expect = DENIED if key is None else (200, 403)
    get("webhooks", "/admin/webhooks", expect)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM webhooks ORDER BY id LIMIT 3")).scalars().all()
    for wid in ids:
        get("webhooks", f"/admin/webhooks/{wid}", expect)
        get("webhooks", f"/admin/webhooks/{wid}/deliveries", expect)
    if key is None:
        r = http.post("/admin/webhooks", json={"url": "http://127.0.0.1:9/anonymous", "collections": ["parks"]})
        cov.requests["webhooks"] += 1
        if r.status_code not in DENIED:
            problems.append(f"POST /admin/webhooks (anonymous) -> {r.status_code} {r.text[:200]}")
        scanner.scan_response("POST /admin/webhooks", r)


def control_geoportal(base: str, engine: Engine, values: dict[str, set[str]], analyst_key: str,
                      admin_key: str) -> tuple[Coverage, list[str]]:
    """The scan can fail on every surface: with an analyst key WFS, the catalogue and the event stream carry
    private fields, e-mails, private layers and actors, WMS feature information private values and both WMS and
    WMTS capabilities the private layers; with an admin key the webhook pages answer with their
    URLs. Returns the coverage (findings per surface: each should be above zero) and the findings."""
    from reliability.leaks import Scanner

    scanner, problems = Scanner(values), []
    cov = crawl_geoportal(base, engine, scanner, problems, analyst_key,
                          ("wfs", "catalog", "events", "wms", "wmts"))
    admin = crawl_geoportal(base, engine, scanner, problems, admin_key, ("webhooks",))
    cov.findings["webhooks"], cov.requests["webhooks"] = admin.findings["webhooks"], admin.requests["webhooks"]
    return cov, scanner.findings + problems


def seed(base: str, admin_key: str, record_id: str = "parks") -> None:
    """What the controls look for where a fresh city has none: a private contact e-mail on a record and a
    webhook (for toll gates, which the runs do not edit, to an address that does not listen)."""
    headers = {"X-API-Key": admin_key}
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        r = http.patch(f"/admin/metadata/{record_id}", headers={"Content-Type": "application/json"},
                       content=json.dumps({"contact": {"email": "gis.bappeda@binjaikota.go.id",
                                                       "email_public": False}}))
        r.raise_for_status()
        r = http.post("/admin/webhooks", json={"url": "http://127.0.0.1:9/command-center",
                                               "collections": ["toll_gates"]})
        assert r.status_code == 201, r.text
