"""Listening for committed edits (PostgreSQL NOTIFY from the layer tables' statement triggers), so every
service process drops the cached tiles of an edited layer, whoever made the edit (API, CLI, QGIS on the
database)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

log = logging.getLogger("petakota")
CHANNEL = "petakota_changes"
EVERYTHING = "*"  # after a lost connection, notifications may have been missed


class ChangeListener(threading.Thread):
    def __init__(self, dsn: str, on_change: Callable[[str], None]):
        super().__init__(name="petakota-change-listener", daemon=True)
        self.dsn = dsn
        self.on_change = on_change
        self.listening = threading.Event()
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5,
                                     application_name="petakota-listener") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.on_change(EVERYTHING)
                    self.listening.set()
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.on_change(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("change listener lost the database (%s); retrying", exc.__class__.__name__)
                self._stopping.wait(2.0)
