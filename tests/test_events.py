"""`GET /events` over real HTTP (Server-Sent Events read with httpx streaming): an edit made after connecting
arrives; reconnecting with Last-Event-ID gets what was missed, from the database; anonymous streams carry no
private layer's or record's events and no actor; idle streams send heartbeats; bad requests are problems."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time

import httpx
import pytest
from sqlalchemy import text

from tests import programme_rows
from tests.conftest import live_public, problem_of, serve
from tests.test_features_write import park


class Stream:
    """An SSE client in a thread: parses frames into events (id, event, data) and counts comment lines."""

    def __init__(self, url: str, headers: dict | None = None):
        self.url, self.headers = url, headers or {}
        self.events: queue.Queue = queue.Queue()
        self.raw: list[str] = []
        self.comments = 0
        self.ready = threading.Event()
        self.response = None
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        threading.Thread(target=self._run, daemon=True).start()
        assert self.ready.wait(20), "the stream did not open"
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["content-type"].startswith("text/event-stream")

    def _run(self) -> None:
        try:
            with self.client.stream("GET", self.url, headers=self.headers) as response:
                self.response = response
                self.ready.set()
                frame: dict = {}
                for line in response.iter_lines():
                    self.raw.append(line)
                    if not line:
                        if "data" in frame:
                            self.events.put({**frame, "data": json.loads(frame["data"])})
                        frame = {}
                    elif line.startswith(":"):
                        self.comments += 1
                    else:
                        name, _, value = line.partition(":")
                        frame[name] = value[1:] if value.startswith(" ") else value
        except (httpx.HTTPError, RuntimeError, ValueError):
            pass  # closed by the test
        finally:
            self.ready.set()

    def next(self, timeout: float = 30) -> dict:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s; the stream said {self.raw[-10:]}") from None

    def close(self) -> None:
        """Hang up: shut the socket down, so the reader thread wakes and the server sees the client leave."""
        sock = self.response.extensions["network_stream"].get_extra_info("socket")
        sock.shutdown(socket.SHUT_RDWR)
        self.client.close()


@pytest.fixture()
def planner(keys):
    return {"X-API-Key": keys["planner"]}


def _history_id(engine, layer: str, fid: int, version: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT max(id) FROM feature_history WHERE layer = :l AND feature_id = :f "
                                 "AND version = :v"), {"l": layer, "f": fid, "v": version}).scalar_one()


def test_an_edit_after_connecting_arrives_and_a_reconnect_gets_the_missed_ones(server, http, keys, planner,
                                                                                engine, settings):
    analyst = {"X-API-Key": keys["analyst"]}
    stream = Stream(f"{server}/events?collections=parks", analyst)
    try:
        fid = http.post("/collections/parks/items", json=park("Taman Arus Satu"), headers=planner).json()["id"]
        created = stream.next()
    finally:
        stream.close()
    assert created["event"] == "create" and created["id"] == str(_history_id(engine, "parks", fid, 1))
    data = created["data"]
    assert data["id"] == created["id"] and data["type"] == "id.petakota.feature.created"
    assert data["source"] == f"{settings.public_url}/collections/parks" and data["subject"] == str(fid)
    assert data["data"] == {**data["data"], "collection": "parks", "featureId": fid, "version": 1,
                            "actor": "Uji planner (planner)"}
    # while nobody listens: an update and a delete
    patched = http.patch(f"/collections/parks/items/{fid}", content=json.dumps({"properties": {"kelas": "taman rt"}}),
                         headers={**planner, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 204
    assert http.delete(f"/collections/parks/items/{fid}", headers={**planner, "If-Match": '"2"'}).status_code == 204
    again = Stream(f"{server}/events?collections=parks", {**analyst, "Last-Event-ID": created["id"]})
    try:
        missed = [again.next(), again.next()]
    finally:
        again.close()
    assert [(e["event"], e["data"]["data"]["version"]) for e in missed] == [("update", 2), ("delete", 3)]
    assert [e["id"] for e in missed] == [str(_history_id(engine, "parks", fid, v)) for v in (2, 3)]
    assert missed[1]["data"]["type"] == "id.petakota.feature.deleted"


def test_anonymous_streams_carry_no_private_events_and_no_actor(server, http, keys, planner, engine):
    anonymous = Stream(f"{server}/events")
    analyst = Stream(f"{server}/events", {"X-API-Key": keys["analyst"]})
    try:
        rows = programme_rows.insert(engine)  # programmes (records) and private programme locations
        fid = http.post("/collections/parks/items", json=park("Taman Arus Publik"), headers=planner).json()["id"]
        first = anonymous.next()
        seen = [analyst.next() for _ in range(3)]
        while seen[-1]["data"]["data"]["collection"] != "parks":
            seen.append(analyst.next())
    finally:
        anonymous.close()
        analyst.close()
        programme_rows.remove(engine)
    # the anonymous stream's first event is the park, written after every programme row
    assert first["data"]["data"]["collection"] == "parks" and first["data"]["subject"] == str(fid)
    assert first["data"]["data"]["actor"] is None
    said = "\n".join(anonymous.raw)
    assert "programme" not in said and "uji programmes" not in said and "Uji planner" not in said
    # the analyst's stream has them, with their actors (so the anonymous check could fail)
    private = [e for e in seen if e["data"]["data"]["collection"] != "parks"]
    assert {e["data"]["data"]["collection"] for e in private} >= {"programmes", "programme_points"}
    assert {e["data"]["data"]["actor"] for e in private} == {"uji programmes"}
    assert seen[-1]["data"]["data"]["actor"] == "Uji planner (planner)"
    assert len(rows.points) == sum(e["data"]["data"]["collection"] == "programme_points" for e in private)


def test_a_bad_request_is_a_problem_not_a_stream(http, keys):
    cases = [({"collections": "taman_hilang"}, {}, 404, "taman_hilang"),
             ({"collections": "programme_points"}, {}, 404, "programme_points"),  # private: as if unknown
             ({"collections": " , "}, {}, 400, "collection"),
             ({}, {"Last-Event-ID": "kemarin"}, 400, "Last-Event-ID"),
             ({}, {"Last-Event-ID": "999999999999"}, 400, "no event")]
    for params, headers, status, said in cases:
        r = http.get("/events", params=params, headers=headers)
        assert r.status_code == status and said in problem_of(r)["detail"], (params, headers, r.text)
    # with a key that reads it, the private layer streams
    with http.stream("GET", "/events", params={"collections": "programme_points"},
                     headers={"X-API-Key": keys["analyst"]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")


def test_an_idle_stream_sends_heartbeats(settings, engine):
    with serve(settings.model_copy(update={"events_heartbeat_seconds": 0.3})) as url:
        stream = Stream(f"{url}/events?collections=parks")
        try:
            deadline = threading.Event()
            deadline.wait(2.0)
            beats = stream.comments
        finally:
            stream.close()
    assert beats >= 3 and stream.events.empty()
    assert any(line.startswith(": heartbeat") for line in stream.raw)


def _drain(stream: Stream, quiet: float = 2.0) -> list[dict]:
    out = []
    while True:
        try:
            out.append(stream.events.get(timeout=quiet))
        except queue.Empty:
            return out


def test_an_anonymous_replay_of_the_whole_history_leaks_nothing(server, engine):
    """The leak scan of the stream: from the first history row on, the public gets every public layer's event
    (counted here from the table) and nothing else - no record, no private layer, no actor."""
    programme_rows.insert(engine)  # private rows in the history, whatever ran before
    programme_rows.remove(engine)
    public = live_public(engine)  # the declared layers and those other tests added at runtime
    with engine.connect() as conn:
        first = conn.execute(text("SELECT id FROM feature_history ORDER BY txid, id LIMIT 1")).scalar_one()
        expected = conn.execute(text(
            "SELECT id FROM feature_history WHERE id <> :first AND layer = ANY(:public) "
            "AND action NOT IN ('attach', 'detach', 'publish', 'unpublish') ORDER BY txid, id"),
            {"first": first, "public": public}).scalars().all()
        private_rows = conn.execute(text("SELECT count(*) FROM feature_history WHERE NOT layer = ANY(:public)"),
                                    {"public": public}).scalar_one()
    assert private_rows > 0 and len(expected) > 500  # more than one batch of the stream
    stream = Stream(f"{server}/events", {"Last-Event-ID": str(first)})
    try:
        replay = _drain(stream)
    finally:
        stream.close()
    assert [int(e["id"]) for e in replay] == expected
    assert {e["data"]["data"]["collection"] for e in replay} <= set(public)
    assert all(e["data"]["data"]["actor"] is None for e in replay)


def test_a_key_limited_to_cities_or_layers_gets_private_events_and_actors_only_within_its_limits():
    from datetime import UTC, datetime

    from gis.data.auth import ANONYMOUS, Principal
    from gis.data.events import Event, for_caller
    from layers import CATALOG

    def event(layer: str, city: str) -> Event:
        return Event(1, 1, layer, 7, 2, "update", "Budi Santoso", datetime.now(UTC), city)

    parks, points = CATALOG["parks"], CATALOG["programme_points"]
    deli = Principal("Dinas Deli Serdang (analyst)", "analyst", cities=("12.07",))
    assert for_caller(event("parks", "12.75"), deli, parks) == (True, False)  # public layer, another city
    assert for_caller(event("parks", "12.07"), deli, parks) == (True, True)
    assert for_caller(event("programme_points", "12.75"), deli, points) == (False, False)
    assert for_caller(event("programme_points", "12.07"), deli, points) == (True, True)
    assert for_caller(event("programme_points", "12.07"), ANONYMOUS, points) == (False, False)
    assert for_caller(event("parks", "12.07"), ANONYMOUS, parks) == (True, False)
    zoning_only = Principal("Dinas PUPR (analyst)", "analyst", layers=("zoning",))
    assert for_caller(event("parks", "12.75"), zoning_only, parks) == (True, False)
    assert for_caller(event("programmes", "12.07"), deli, None) == (False, False)  # records: unlimited keys only
    assert for_caller(event("programmes", "12.07"), Principal("Bappeda (analyst)", "analyst"), None) == (True, True)


PARK_SQL = ("INSERT INTO parks (nama, kelas, publik, geom) VALUES (:n, 'taman rt', true, "
            "ST_Multi(ST_Transform(ST_MakeEnvelope(445000, 398000, 445100, 398100, 32647), 4326))) RETURNING id")


def test_an_edit_committed_after_a_later_one_is_not_skipped(engine):
    """History ids are taken at the write, rows become visible at the commit: a reader must not pass the id of a
    transaction still running. Here the first writer commits last; both events are read, in order."""
    from gis.data import events

    with engine.connect() as conn:
        start = events.now_position(conn)
    slow = engine.connect()
    slow_tx = slow.begin()
    try:
        first = slow.execute(text(PARK_SQL), {"n": "Taman Lambat"}).scalar_one()
        with engine.begin() as conn:
            second = conn.execute(text(PARK_SQL), {"n": "Taman Cepat"}).scalar_one()
        with engine.connect() as conn:
            early, position = events.read(conn, start, ["parks"])
        assert early == []  # the later edit waits behind the running one
        slow_tx.commit()
    finally:
        slow.close()
    got, deadline = [], time.time() + 30
    while len(got) < 2 and time.time() < deadline:
        with engine.connect() as conn:
            batch, position = events.read(conn, position, ["parks"])
        got += batch
        time.sleep(0.1)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM parks WHERE id IN (:a, :b)"), {"a": first, "b": second})
    assert [(e.feature_id, e.kind) for e in got] == [(first, "create"), (second, "create")]
    assert got[0].id < got[1].id and got[0].position < got[1].position
