"""A webhook receiver for tests: a tiny HTTP server on a free port, in a thread, that checks each delivery's
signature as a real receiver would and records what it was sent. It can answer 500 or be stopped (connections
refused) and started again on the same port."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_ok(body: bytes, secret: str, header: str | None) -> bool:
    """The receiver's check, written from the documentation (not the service's code): HMAC-SHA256 of the raw
    body with the shared secret, hex, after "sha256="."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


class Receiver:
    def __init__(self, secret: str):
        self.secret = secret
        self.failing = False  # answer 500 to everything
        self.events: list[dict] = []  # accepted deliveries' bodies, in arrival order
        self.raw: list[tuple[bytes, dict]] = []  # every request's body and headers
        self.refused_signatures = 0
        self.lock = threading.Lock()
        self.port = 0
        self.server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.raw.append((body, dict(self.headers)))
                    if receiver.failing:
                        code = 500
                    elif not signature_ok(body, receiver.secret, self.headers.get("X-PetaKota-Signature")):
                        receiver.refused_signatures += 1
                        code = 401
                    else:
                        receiver.events.append(json.loads(body))
                        code = 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: deliveries meet a refused connection."""
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [e["id"] for e in self.events]

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.events) >= count:
                    return list(self.events)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"the receiver got {len(self.events)} of {count} events in {timeout} s: "
                                 f"{[e['id'] for e in self.events]}")
