"""Webhooks over real HTTP: an admin registers a receiver (a real HTTP server in the test); edits made through the
API reach it exactly once each, in history order, as signed CloudEvents 1.0 bodies - with two service replicas
delivering, and across a receiver outage (500s, then refused connections), with every failed attempt in the log."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gis.cli.main import app
from tests.conftest import problem_of, serve
from tests.test_features_write import park
from tests.webhook_receiver import Receiver, signature_ok

SECRET = "uji-rahasia-webhook-5c1e7a"
PAST = {"insert": "created", "update": "updated", "delete": "deleted", "restore": "updated"}


@pytest.fixture(scope="module")
def replica(settings, engine, server):
    """A second service process on the same database: both deliver, neither twice."""
    with serve(settings) as url:
        yield url


@pytest.fixture()
def admin(http, keys):
    http.headers["X-API-Key"] = keys["admin"]
    yield http
    http.headers.pop("X-API-Key", None)


@pytest.fixture()
def receiver():
    r = Receiver(SECRET)
    yield r
    r.stop()


def _register(admin, receiver, **body) -> dict:
    r = admin.post("/admin/webhooks", json={"url": receiver.url, "secret": SECRET, **body})
    assert r.status_code == 201, r.text
    return r.json()


def _remove(admin, hook_id: int) -> None:
    assert admin.delete(f"/admin/webhooks/{hook_id}").status_code == 204


def _edits(http, planner_key: str) -> list[int]:
    """Create two parks, rename each, delete one; returns their ids."""
    h = {"X-API-Key": planner_key}
    ids = []
    for name in ("Taman Webhook Satu", "Taman Webhook Dua"):
        r = http.post("/collections/parks/items", json=park(name), headers=h)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for fid in ids:
        r = http.patch(f"/collections/parks/items/{fid}", content=json.dumps({"properties": {"kelas": "taman rt"}}),
                       headers={**h, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"})
        assert r.status_code == 204, r.text
    assert http.delete(f"/collections/parks/items/{ids[0]}", headers={**h, "If-Match": '"2"'}).status_code == 204
    return ids


def _history(engine, ids: list[int]) -> list[dict]:
    """The history rows of those parks, read independently of the service's event code."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT id, feature_id, version, action, actor, at FROM feature_history "
            "WHERE layer = 'parks' AND feature_id = ANY(:ids) ORDER BY id"), {"ids": ids}).mappings()]


def _check_cloud_event(event: dict, row: dict, settings) -> None:
    assert event["specversion"] == "1.0"
    assert event["id"] == str(row["id"])
    assert event["source"] == f"{settings.public_url}/collections/parks"
    assert event["type"] == f"id.petakota.feature.{PAST[row['action']]}"
    assert event["subject"] == str(row["feature_id"])
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["collection"] == "parks" and event["data"]["featureId"] == row["feature_id"]
    assert event["data"]["version"] == row["version"]
    assert event["data"]["actor"] == row["actor"] == "Uji planner (planner)"
    assert event["time"] == event["data"]["time"] == row["at"].isoformat()


def test_admin_endpoints_need_an_admin_key(http, keys, receiver):
    body = {"url": receiver.url, "secret": SECRET}
    assert problem_of(http.post("/admin/webhooks", json=body)).get("status") == 401
    for role in ("analyst", "planner"):
        h = {"X-API-Key": keys[role]}
        for r in (http.post("/admin/webhooks", json=body, headers=h), http.get("/admin/webhooks", headers=h),
                  http.get("/admin/webhooks/1/deliveries", headers=h), http.delete("/admin/webhooks/1", headers=h),
                  http.post("/admin/webhooks/1/deliveries/1/resend", headers=h)):
            assert r.status_code == 403, (role, r.request.url, r.text)
            assert "admin" in problem_of(r)["detail"]


def test_bad_registrations_are_refused_with_a_reason(admin, receiver):
    cases = [({"url": "ftp://example.org/x"}, "http"), ({"collections": ["taman_hilang"]}, "taman_hilang"),
             ({"kinds": ["rename"]}, "kinds"), ({"secret": "pendek"}, "16 characters")]
    for change, said in cases:
        r = admin.post("/admin/webhooks", json={"url": receiver.url, "secret": SECRET, **change})
        assert r.status_code == 400 and said in problem_of(r)["detail"], (change, r.text)
    assert admin.get("/admin/webhooks/999999").status_code == 404
    assert admin.delete("/admin/webhooks/999999").status_code == 404


def test_every_edit_is_delivered_once_in_order_signed_as_a_cloudevent(admin, keys, receiver, engine, settings,
                                                                       replica):
    hook = _register(admin, receiver, collections=["parks"])
    deletes = Receiver(SECRET)
    only_deletes = _register(admin, deletes, collections=["parks"], kinds=["delete"])
    assert hook["secret"] == SECRET and hook["collections"] == ["parks"]
    assert "secret" not in json.dumps(admin.get("/admin/webhooks").json())
    try:
        ids = _edits(admin, keys["planner"])
        rows = _history(engine, ids)
        assert [r["action"] for r in rows] == ["insert", "insert", "update", "update", "delete"]
        got = receiver.wait_for(len(rows))
        time.sleep(1.5)  # both replicas poll several times more: nothing arrives twice
        assert receiver.ids() == [str(r["id"]) for r in rows]  # each once, in history order
        for event, row in zip(receiver.events, rows, strict=True):
            _check_cloud_event(event, row, settings)
        assert receiver.refused_signatures == 0
        # the signature is of the exact body with this webhook's secret: a wrong secret would not match
        body, headers = receiver.raw[0]
        assert headers["Content-Type"].startswith("application/cloudevents+json")
        assert signature_ok(body, SECRET, headers["X-PetaKota-Signature"])
        assert not signature_ok(body, SECRET + "x", headers["X-PetaKota-Signature"])
        assert not signature_ok(body.replace(b"parks", b"taman"), SECRET, headers["X-PetaKota-Signature"])
        # a webhook for deletes gets the one delete only
        [deleted] = deletes.wait_for(1)
        assert deleted["type"] == "id.petakota.feature.deleted" and deleted["subject"] == str(ids[0])
        assert got[0]["data"]["actor"] == "Uji planner (planner)"
        listed = admin.get(f"/admin/webhooks/{hook['id']}").json()
        assert (listed["delivered"], listed["pending"], listed["failed"]) == (len(rows), 0, 0)
    finally:
        _remove(admin, hook["id"])
        _remove(admin, only_deletes["id"])
        deletes.stop()


def test_a_receiver_down_gets_every_event_once_when_it_returns(admin, keys, receiver, engine, replica):
    hook = _register(admin, receiver, collections=["parks"])
    try:
        receiver.failing = True  # first it answers 500 ...
        ids = _edits(admin, keys["planner"])
        deadline = time.time() + 30
        while len(receiver.raw) < 3 and time.time() < deadline:
            time.sleep(0.05)
        receiver.stop()  # ... then it is gone (connections refused)
        time.sleep(1.5)
        receiver.failing = False
        receiver.start()  # back on the same address
        rows = _history(engine, ids)
        receiver.wait_for(len(rows))
        time.sleep(1.0)
        assert receiver.ids() == [str(r["id"]) for r in rows]  # everything, once, in order
        log = admin.get(f"/admin/webhooks/{hook['id']}/deliveries").json()["deliveries"]
        assert {d["event_id"] for d in log} == {r["id"] for r in rows}
        assert all(d["status"] == "delivered" for d in log)
        first = next(d for d in log if d["event_id"] == rows[0]["id"])  # it waited out the whole outage
        statuses = [a["status"] for a in first["attempts_log"]]
        errors = [a["error"] for a in first["attempts_log"]]
        assert 500 in statuses and statuses[-1] in (200, 204)
        assert any(e and "Connect" in e for e in errors), errors  # refused connections are logged too
        assert first["attempts"] == len(first["attempts_log"]) >= 3
        assert all(a["duration_ms"] >= 0 for a in first["attempts_log"])
        # the later events waited behind the first: none was delivered before it
        delivered_at = {d["event_id"]: d["delivered_at"] for d in log}
        assert sorted(delivered_at, key=delivered_at.get) == [r["id"] for r in rows]
    finally:
        _remove(admin, hook["id"])


def test_a_delivery_failing_past_the_give_up_time_is_failed_and_can_be_resent(admin, keys, receiver, engine):
    hook = _register(admin, receiver, collections=["parks"])
    try:
        receiver.failing = True
        h = {"X-API-Key": keys["planner"]}
        fid = admin.post("/collections/parks/items", json=park("Taman Webhook Tiga"), headers=h).json()["id"]
        # the receiver answers before the service writes down the attempt: wait for the attempt's row
        attempts = text("SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery "
                        "WHERE d.webhook = :w")
        deadline = time.time() + 30
        while time.time() < deadline:
            with engine.connect() as conn:
                if conn.execute(attempts, {"w": hook["id"]}).scalar():
                    break
            time.sleep(0.05)
        with engine.begin() as conn:  # its first attempt was three days ago: the next failure gives it up
            conn.execute(text("UPDATE webhook_attempts a SET at = at - interval '73 hours' FROM webhook_deliveries d "
                              "WHERE d.id = a.delivery AND d.webhook = :w"), {"w": hook["id"]})
        deadline = time.time() + 30
        while time.time() < deadline:
            log = admin.get(f"/admin/webhooks/{hook['id']}/deliveries", params={"status": "failed"}).json()
            if log["deliveries"]:
                break
            time.sleep(0.1)
        [failed] = log["deliveries"]
        receiver.failing = False
        # a failed delivery no longer holds back the next event
        r = admin.patch(f"/collections/parks/items/{fid}", content=json.dumps({"properties": {"kelas": "taman rt"}}),
                        headers={**h, "If-Match": '"1"', "Content-Type": "application/merge-patch+json"})
        assert r.status_code == 204
        [update] = receiver.wait_for(1)
        assert update["type"] == "id.petakota.feature.updated"
        again = admin.post(f"/admin/webhooks/{hook['id']}/deliveries/{failed['id']}/resend")
        assert again.status_code == 200 and again.json()["status"] == "pending"
        events = receiver.wait_for(2)
        assert events[1]["id"] == str(failed["event_id"]) and events[1]["type"] == "id.petakota.feature.created"
        twice = admin.post(f"/admin/webhooks/{hook['id']}/deliveries/{failed['id']}/resend")
        assert twice.status_code == 400 and "delivered" in problem_of(twice)["detail"]
    finally:
        _remove(admin, hook["id"])


def test_cli_adds_lists_logs_and_removes_webhooks(settings, receiver, keys, http, engine):
    def cli(*args):
        return CliRunner().invoke(app, ["webhooks", *args], env={"DATABASE_URL": settings.database_url})

    added = cli("add", receiver.url, "--collections", "parks,rivers", "--secret", SECRET)
    assert added.exit_code == 0, added.output
    hook_id = int(added.output.split()[1])
    assert "collections parks,rivers" in added.output
    fid = http.post("/collections/parks/items", json=park("Taman Webhook CLI"),
                    headers={"X-API-Key": keys["planner"]}).json()["id"]
    [event] = receiver.wait_for(1)
    assert event["subject"] == str(fid)
    listed = cli("list")
    assert receiver.url in listed.output and SECRET not in listed.output
    time.sleep(0.5)  # the delivery's state is written just after the receiver answered
    logged = cli("log", str(hook_id))
    assert f"event {event['id']} parks/{fid} v1: delivered after 1 attempt(s)" in logged.output, logged.output
    bad = cli("add", receiver.url, "--collections", "taman_hilang", "--secret", SECRET)
    assert bad.exit_code == 1 and "taman_hilang" in bad.output
    assert cli("remove", str(hook_id)).exit_code == 0
    assert cli("remove", str(hook_id)).exit_code == 1


def test_old_delivered_deliveries_are_pruned_and_pending_ones_kept(admin, receiver, engine):
    from gis.data import webhooks

    hook = _register(admin, receiver, collections=["parks"])
    try:
        with engine.begin() as conn:
            events = conn.execute(text("SELECT id, txid FROM feature_history ORDER BY id LIMIT 3")).all()
            for (hid, txid), status, age in zip(events, ("delivered", "delivered", "pending"), (31, 29, 40),
                                                strict=True):
                conn.execute(text(
                    "INSERT INTO webhook_deliveries (webhook, history_id, history_txid, status, delivered_at, "
                    "next_attempt_at) VALUES (:w, :h, :t, :s, CASE WHEN :s = 'delivered' THEN now() - "
                    "make_interval(days => :age) END, now() + interval '1 day')"),
                    {"w": hook["id"], "h": hid, "t": txid, "s": status, "age": age})
            assert webhooks.prune(conn, 30) == 1
            left = conn.execute(text("SELECT history_id FROM webhook_deliveries WHERE webhook = :w ORDER BY 1"),
                                {"w": hook["id"]}).scalars().all()
        assert left == [events[1][0], events[2][0]]
    finally:
        _remove(admin, hook["id"])
