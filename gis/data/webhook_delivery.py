"""Posting webhook deliveries: a thread in every service process (started in the app's lifespan) takes
webhooks with deliveries due (gis/data/webhooks.py: one process per webhook at a time, so replicas share the
work), POSTs each event as a CloudEvents 1.0 structured JSON body, signed with the webhook's secret, and logs
every attempt. It is a thread, not a job worker process: delivering is waiting on the network, and the job
workers run analyses at a lower priority that a long siting run would hold up.

A receiver checks a delivery by computing HMAC-SHA256 of the raw request body with the shared secret and
comparing its hex digest, in constant time, with the `X-PetaKota-Signature: sha256=<hex>` header (`verify`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time

import httpx
from sqlalchemy import Engine

from gis.core.settings import Settings
from gis.data import webhooks
from gis.data.events import cloud_event

log = logging.getLogger("petakota")
SIGNATURE_HEADER = "X-PetaKota-Signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
PRUNE_SECONDS = 3600  # how often old delivered deliveries are deleted


def sign(body: bytes, secret: str) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does: whether `header` is the signature of `body` with `secret`."""
    return bool(header) and hmac.compare_digest(sign(body, secret), header.strip())


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """The wait after the `attempt`-th failure: base, 2 base, 4 base, ... at most `cap`."""
    return min(cap, base * 2 ** min(attempt - 1, 60))


def body_of(event, public_url: str) -> bytes:
    return json.dumps(cloud_event(event, public_url), ensure_ascii=False, separators=(",", ":")).encode()


class DeliveryWorker(threading.Thread):
    def __init__(self, engine: Engine, settings: Settings):
        super().__init__(name="petakota-webhooks", daemon=True)
        self.engine = engine
        self.settings = settings
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.lease_seconds = settings.webhook_timeout_seconds * 2 + 30
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._pruned_at = -PRUNE_SECONDS
        self.client = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                                   headers={"User-Agent": "PetaKota-Webhooks/1"})

    def wake(self, *_) -> None:
        """Something changed: look for new events now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._prune_now_and_then()
                    if self.run_once():
                        continue  # a full batch may have left more due: go on at once
                except Exception as exc:  # the database away, a bug in one round: log, keep going
                    log.warning("webhook delivery round failed: %s: %s", exc.__class__.__name__, exc)
                self._wake.wait(self.settings.webhook_poll_seconds)
                self._wake.clear()
        finally:
            self.client.close()

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned_at > PRUNE_SECONDS:
            self._pruned_at = time.monotonic()
            with self.engine.begin() as conn:
                webhooks.prune(conn, self.settings.webhook_log_days)

    def run_once(self) -> int:
        """One round over every webhook no other process holds; returns how many deliveries were attempted."""
        looked, attempted = [], 0
        while not self._stopping.is_set():
            with self.engine.begin() as conn:
                claimed = webhooks.claim(conn, self.worker, self.lease_seconds, looked)
            if claimed is None:
                return attempted
            if isinstance(claimed, int):
                looked.append(claimed)
                continue
            looked.append(claimed.webhook_id)
            try:
                for due in claimed.deliveries:
                    attempted += 1
                    if not self._attempt(claimed, due) or self._stopping.is_set():
                        break  # later events wait for this one: one webhook's events arrive in order
            finally:
                with self.engine.begin() as conn:
                    webhooks.release(conn, claimed.webhook_id, self.worker)
        return attempted

    def _attempt(self, claimed: webhooks.Claimed, due: webhooks.Due) -> bool:
        body = body_of(due.event, self.settings.public_url)
        headers = {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: sign(body, claimed.secret),
                   "X-PetaKota-Delivery": str(due.id)}
        started = time.perf_counter()
        status = error = None
        try:
            response = self.client.post(claimed.url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {str(exc)[:300] or 'no answer'}"
        duration_ms = (time.perf_counter() - started) * 1000
        retry = backoff_seconds(due.attempts + 1, self.settings.webhook_backoff_seconds,
                                self.settings.webhook_backoff_cap_seconds)
        with self.engine.begin() as conn:
            state = webhooks.record_attempt(conn, claimed.webhook_id, due, self.worker, status, error, duration_ms,
                                            retry, self.settings.webhook_give_up_hours, self.lease_seconds)
        if state == "failed":
            log.warning("webhook %s: event %s given up after %s attempts (%s)", claimed.webhook_id, due.event.id,
                        due.attempts + 1, error)
        # a given-up delivery no longer holds back the later ones
        return state in ("delivered", "failed")
