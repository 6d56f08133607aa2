"""Whether the online basemap can be reached from here. A command center's intranet has no internet: the web map
then opens on the basemap drawn from the city's own layers instead of asking for tiles that fail (every failed
tile is an error in the browser's console). The answer is kept for a while; the first page does not wait for it
when the service asked at startup."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

KEEP_SECONDS = 600.0
TIMEOUT_SECONDS = 2.0
# The city's own basemap: light lines (and the city's land) drawn from these layers when the map has them.
CITY_BASEMAP = {
    "kota": {"fill": "#fbfaf6", "line": "#8c8474", "width": 1.4},
    "kecamatan": {"line": "#c2bba9", "width": 1.0},
    "rivers": {"line": "#9cc3e0", "width": 1.6},
    "roads": {"line": "#d6d0c2", "width": 1.4},
}

_known: dict[str, tuple[float, bool]] = {}
_lock = threading.Lock()


def _connects(url: str) -> bool:
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=TIMEOUT_SECONDS):
            return True
    except OSError:  # no name resolution, no route, refused, timed out: all mean unreachable from here
        return False


def reachable(url: str | None) -> bool:
    """True when the basemap's host accepts a connection (checked at most every KEEP_SECONDS)."""
    if not url:
        return False
    now = time.monotonic()
    with _lock:
        known = _known.get(url)
    if known and now - known[0] < KEEP_SECONDS:
        return known[1]
    answer = _connects(url)
    with _lock:
        _known[url] = (now, answer)
    return answer


def check_in_background(url: str | None) -> None:
    """Ask once at startup so that the first map page does not wait for the answer."""
    if url:
        threading.Thread(target=reachable, args=(url,), daemon=True, name="basemap-check").start()
