"""Web map benchmark: how fast the public embed and the planner map are ready (layers drawn) and how many bytes
they cost, in Debian's Chromium, throttled to Chrome DevTools' "Fast 3G" and unthrottled, with the online basemap
and without it (`?basemap=none`). Starts a PetaKota (2 workers) on the database DATABASE_URL names (the sample
city is loaded when it is empty) and writes docs/benchmarks-maps.md (raw runs: bench/out/webmap.json;
`webmap.py --report` rewrites the doc from them).

Goals (issue 16): the embed ready < 2 s on Fast 3G (2-core machine); embed page weight <= 250 KiB.
Environment: BENCH_MAP_RUNS (5) cold-cache loads per page and network."""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis.core import db  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.sample import is_empty, load_sample  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

RUNS = int(os.environ.get("BENCH_MAP_RUNS", "5"))
DOC = ROOT / "docs" / "benchmarks-maps.md"
OUT = ROOT / "bench" / "out"
# Chrome DevTools' "Fast 3G" preset (front_end/core/sdk/NetworkManager.ts): bytes/s and ms.
FAST_3G = {"offline": False, "latency": 150 * 3.75, "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
           "uploadThroughput": 750 * 1000 / 8 * 0.9}
NETWORKS = {"Fast 3G": FAST_3G, "unthrottled": None}
PAGES = [  # (label, path, viewport)
    ("embed", "/embed/binjai", {"width": 560, "height": 320}),
    ("planner map, laptop", "/map", {"width": 1366, "height": 768}),
    ("planner map, phone", "/map", {"width": 390, "height": 844}),
]
GOAL_SECONDS, GOAL_KIB = 2.0, 250
TIMEOUT_MS = 60_000
QUIET_S = 0.5  # the network counts as done after this long with nothing in flight
KINDS = ("page", "scripts", "styles", "tiles", "basemap", "data", "other")
# The moment the page's test hook says every visible layer drew its tiles once, in wall-clock ms.
READY_PROBE = """(function poll() {
    if (window.petakota && window.petakota.ready === true) {
        window.__readyAt = performance.timeOrigin + performance.now();
    } else { requestAnimationFrame(poll); }
})();"""


@dataclass
class Resource:
    url: str
    kind: str = "other"
    start: float = 0.0  # s since the page's request
    end: float | None = None
    bytes: int = 0  # encodedDataLength: what came over the wire, headers included
    status: int = 0
    empty: bool = False  # 204, or an empty body (a vector tile with no features there)
    failed: str = ""


@dataclass
class Load:
    seconds: float  # to "layers drawn": petakota.ready and every tile request finished
    ready: float  # to petakota.ready alone
    resources: list[Resource] = field(default_factory=list)

    @property
    def weight(self) -> int:
        return sum(r.bytes for r in self.resources)

    def by_kind(self) -> dict[str, int]:
        return {k: sum(r.bytes for r in self.resources if r.kind == k) for k in KINDS}

    def hosts(self) -> set[str]:
        return {urlsplit(r.url).netloc for r in self.resources}


def kind_of(url: str, resource_type: str, mime: str, own_host: str) -> str:
    """What a response is for: the page, its scripts and styles, the layers' tiles, the basemap's, data."""
    foreign = urlsplit(url).netloc != own_host
    if resource_type == "Document":
        return "page"
    if resource_type == "Script":
        return "scripts"
    if resource_type == "Stylesheet":
        return "styles"
    if "/tiles/" in url or "vnd.mapbox-vector-tile" in mime or url.endswith(".pmtiles"):
        return "basemap" if foreign else "tiles"
    if foreign and resource_type == "Image":
        return "basemap"
    if resource_type in ("Fetch", "XHR") or "json" in mime:
        return "data"
    return "other"


def is_tile(r: Resource) -> bool:
    return r.kind in ("tiles", "basemap")


def load_once(browser, url: str, viewport: dict, network: dict | None) -> Load:
    """One cold load (a new browser context: empty cache, no open connections) of `url`, watched through CDP."""
    own_host = urlsplit(url).netloc
    context = browser.new_context(viewport=viewport)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        if network:
            cdp.send("Network.emulateNetworkConditions", network)
        seen: dict[str, dict] = {}

        def sent(e):
            if e["request"]["url"].startswith("http") and e["requestId"] not in seen:  # a redirect keeps its id
                seen[e["requestId"]] = {"url": e["request"]["url"], "type": e.get("type", ""), "t": e["timestamp"],
                                        "wall": e["wallTime"], "mime": ""}

        def update(e, **values):
            if e["requestId"] in seen:
                seen[e["requestId"]].update(values)

        cdp.on("Network.requestWillBeSent", sent)
        def received(e):
            status, headers = e["response"]["status"], {k.lower(): v for k, v in e["response"]["headers"].items()}
            update(e, mime=e["response"]["mimeType"], type=e["type"], status=status,
                   empty=status == 204 or headers.get("content-length") == "0")

        cdp.on("Network.responseReceived", received)
        cdp.on("Network.loadingFinished", lambda e: update(e, end=e["timestamp"], bytes=int(e["encodedDataLength"])))
        cdp.on("Network.loadingFailed", lambda e: update(e, end=e["timestamp"], failed=e["errorText"]))
        page.add_init_script(READY_PROBE)
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function("() => window.__readyAt", timeout=TIMEOUT_MS, polling=50)

        def resources() -> list[Resource]:
            first = min(seen.values(), key=lambda s: s["t"])
            return [Resource(s["url"], kind_of(s["url"], s["type"], s["mime"], own_host), s["t"] - first["t"],
                             None if "end" not in s else s["end"] - first["t"], s.get("bytes", 0),
                             s.get("status", 0), s.get("empty", False), s.get("failed", "")) for s in seen.values()]

        def quiet(only_tiles: bool) -> None:  # nothing (or no tile) in flight for QUIET_S, within TIMEOUT_MS
            deadline, idle_since = time.monotonic() + TIMEOUT_MS / 1000, None
            while time.monotonic() < deadline:
                busy = any(r.end is None and (is_tile(r) or not only_tiles) for r in resources())
                idle_since = None if busy else idle_since or time.monotonic()
                if idle_since and time.monotonic() - idle_since >= QUIET_S:
                    return
                page.wait_for_timeout(25)  # lets Playwright deliver the CDP events
            raise TimeoutError(f"{url}: requests still in flight after {TIMEOUT_MS} ms")

        quiet(only_tiles=True)
        first = min(seen.values(), key=lambda s: s["t"])
        ready = page.evaluate("() => window.__readyAt") / 1000 - first["wall"]
        drawn = max([ready] + [r.end for r in resources() if is_tile(r) and r.end is not None])
        quiet(only_tiles=False)  # the weight counts whatever the page loads once it is drawn too
        return Load(drawn, ready, resources())
    finally:
        context.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with fewer than 20 runs, p95 is the slowest)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def median_load(loads: list[Load]) -> Load:
    return sorted(loads, key=lambda x: x.seconds)[(len(loads) - 1) // 2]


# --- the server --------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    """`petakota serve --workers 2` on a free port, in a session of its own (stopped as a group)."""
    port = free_port()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "petakota"), "serve", "--port", str(port), "--workers", "2"],
                            cwd=ROOT, env=os.environ, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5):
                return proc, base
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit(f"the server did not answer /healthz in 90 s; see {log}")


# --- the report --------------------------------------------------------------------------------------------------

def kib(n: float) -> str:
    return f"{n / 1024:.0f}"


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def steps(load: Load) -> list[list]:
    """The load's responses grouped as the page asks for them: the page, each script and style, each layer's tiles
    (requests, empty ones, from the first request to the last response, KiB)."""
    groups: dict[str, list[Resource]] = {}
    for r in sorted(load.resources, key=lambda r: r.start):
        path = urlsplit(r.url).path
        name = (f"tiles of `{path.split('/')[2]}`" if r.kind == "tiles" and path.startswith("/collections/")
                else "basemap tiles" if r.kind == "basemap" else f"`{path}`")
        groups.setdefault(name, []).append(r)
    return [[name, rs[0].kind, len(rs), sum(1 for r in rs if r.empty), f"{rs[0].start:.2f}",
             f"{max(r.end or 0 for r in rs):.2f}", f"{sum(r.bytes for r in rs) / 1024:.1f}"]
            for name, rs in groups.items()]


def report(results: dict, machine: dict) -> str:
    rows, goals = [], []
    for (label, basemap, network), loads in results.items():
        seconds, weights = [x.seconds for x in loads], [x.weight for x in loads]
        median = median_load(loads)
        kinds, tiles = median.by_kind(), [r for r in median.resources if r.kind == "tiles"]
        foreign = sorted(set().union(*(x.hosts() for x in loads)) - {machine["host"]})
        failed = sum(1 for x in loads for r in x.resources if r.failed)
        rows.append([label, basemap, network, f"{statistics.median(seconds):.2f}", f"{percentile(seconds, 95):.2f}",
                     f"{statistics.median(x.ready for x in loads):.2f}",
                     f"{len(median.resources)} ({len(tiles)}, {sum(1 for r in tiles if r.empty)})",
                     kib(statistics.median(weights)), " / ".join(kib(kinds[k]) for k in KINDS),
                     ", ".join(foreign) or "none", f"{failed / len(loads):.1f}"])
        if label == "embed" and network == "Fast 3G":
            p95, weight = percentile(seconds, 95), statistics.median(weights)
            goals.append([f"embed ready, Fast 3G, basemap {basemap}", f"p50 {statistics.median(seconds):.2f} s, "
                          f"p95 {p95:.2f} s", f"< {GOAL_SECONDS:g} s", "met" if p95 < GOAL_SECONDS else "**missed**"])
            goals.append([f"embed weight, basemap {basemap}", f"{kib(weight)} KiB", f"<= {GOAL_KIB} KiB",
                          "met" if weight <= GOAL_KIB * 1024 else "**missed**"])
    embed = median_load(results[("embed", "none", "Fast 3G")])
    tiles = [r for r in embed.resources if r.kind == "tiles"]
    empty = sum(1 for r in tiles if r.empty)
    rounds = math.ceil(len(tiles) / 6)
    largest = sorted(embed.resources, key=lambda r: -r.bytes)[:10]
    m = machine
    return "\n".join([
        "# Web map benchmark", "",
        f"Generated by bench/webmap.py (`make bench`) on {m['date']}; do not edit by hand, run it again.", "",
        "## Method", "",
        f"- Chromium {m['chromium']} (Debian, headless, software rendering; Playwright), {m['nproc']} cores shared "
        f"with the server and PostgreSQL (load average {m['load_before']} before, {m['load_after']} after; other "
        f"work on the machine slows the unthrottled loads most), {m['cpu']}.",
        "- PetaKota: `petakota serve --workers 2` (HTTP/1.1) on the sample city (Binjai); one unmeasured load of "
        "each page first, so the server's tile cache is warm as on a served city. Every measured load is a new "
        "browser context: an empty cache and no open connections.",
        "- Fast 3G: Chrome DevTools' preset through CDP `Network.emulateNetworkConditions`: 562.5 ms latency added "
        "to every request, 1.44 Mbit/s down, 675 kbit/s up.",
        "- Ready (layers drawn): from the page's request until the page's test hook `petakota.ready` is true (every "
        "visible layer drew its tiles once) and every tile request (the layers' and the basemap's) has finished or "
        "failed; `petakota.ready` alone in its own column.",
        "- Weight: the sum of CDP `Network.loadingFinished` `encodedDataLength` (compressed bodies plus headers) of "
        "every response until the network is quiet for 0.5 s after the layers are drawn.",
        f"- {len(next(iter(results.values())))} loads per row; p50 is the median, p95 the nearest rank (with few "
        "loads, the slowest). Requests, the weight and its split are those of the median load.",
        "- Basemap `default`: the page as it opens, on the online basemap when the service reaches it, else on the "
        "basemap drawn from the city's own layers; `none`: `?basemap=none`. This machine "
        f"{'has' if m['internet'] else 'has no'} internet access, so the default is "
        f"{'the online basemap' if m['internet'] else 'the city basemap (no outside host asked)'}.", "",
        "## Results", "",
        *table(["page", "basemap", "network", "ready p50 s", "ready p95 s", "`petakota.ready` p50 s",
                "requests (tiles, empty tiles)", "KiB", "KiB " + " / ".join(KINDS), "foreign hosts",
                "failed requests / load"], rows), "",
        "## Goals (issue 16)", "",
        *table(["what", "measured", "goal", ""], goals), "",
        "## Where the embed's time goes (Fast 3G, basemap none, the median load)", "",
        f"Ready at {embed.seconds:.2f} s (`petakota.ready` at {embed.ready:.2f} s), {kib(embed.weight)} KiB. "
        f"The page asks for {len(tiles)} vector tiles ({empty} of them empty: no feature there), one request "
        f"per tile holding every layer shown. Over HTTP/1.1 Chromium opens 6 connections per host, and each "
        f"request waits the latency, so the tiles alone take at least {rounds} x 0.56 s = {rounds * 0.5625:.1f} s "
        "after the scripts have run; the bytes (at 180 kB/s) matter less.", "",
        *table(["what", "kind", "requests", "empty", "first start s", "last end s", "KiB"], steps(embed)), "",
        "## The embed's largest responses (Fast 3G, basemap none, the median load)", "",
        *table(["response", "kind", "KiB"], [[f"`{urlsplit(r.url).path}`", r.kind, f"{r.bytes / 1024:.1f}"]
                                             for r in largest]), "",
    ])


def rewrite_report() -> None:
    """`webmap.py --report`: docs/benchmarks-maps.md again from bench/out/webmap.json, without measuring."""
    saved = json.loads((OUT / "webmap.json").read_text())
    results = {(run["page"], run["basemap"], run["network"]):
               [Load(x["seconds"], x["ready"], [Resource(**r) for r in x["resources"]]) for x in run["loads"]]
               for run in saved["runs"]}
    DOC.write_text(report(results, saved["machine"]))


# --- main --------------------------------------------------------------------------------------------------------

def main() -> None:
    from playwright.sync_api import sync_playwright

    settings = Settings()
    engine = db.make_engine(settings, pool_size=1)
    db.upgrade(settings)  # nothing to do on a migrated database
    if is_empty(engine):
        load_sample(engine, settings)
    engine.dispose()
    OUT.mkdir(parents=True, exist_ok=True)
    proc, base = start_server(OUT / "webmap-serve.log")
    results: dict[tuple[str, str, str], list[Load]] = {}
    load_before = os.getloadavg()[0]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for label, path, viewport in PAGES:
                for basemap in ("default", "none"):
                    url = base + path + ("?basemap=none" if basemap == "none" else "")
                    load_once(browser, url, viewport, None)  # warms the server (tile cache, first requests)
                    for network, conditions in NETWORKS.items():
                        loads = [load_once(browser, url, viewport, conditions) for _ in range(RUNS)]
                        results[(label, basemap, network)] = loads
                        print(f"{label:22s} basemap {basemap:4s} {network:11s} p50 "
                              f"{statistics.median(x.seconds for x in loads):5.2f} s, "
                              f"{statistics.median(x.weight for x in loads) / 1024:5.0f} KiB", file=sys.stderr)
            chromium = browser.version
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    internet = any(r.bytes and r.kind == "basemap" for loads in results.values() for x in loads for r in x.resources)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    machine = {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "chromium": chromium, "nproc": os.cpu_count(),
               "cpu": cpu, "load_before": f"{load_before:.2f}", "load_after": f"{os.getloadavg()[0]:.2f}",
               "host": urlsplit(base).netloc, "internet": internet}
    (OUT / "webmap.json").write_text(json.dumps(
        {"machine": machine, "runs": [{"page": k[0], "basemap": k[1], "network": k[2], "loads": [asdict(x) for x in v]}
                                      for k, v in results.items()]}, indent=1))
    text = report(results, machine)
    DOC.write_text(text)
    print(text)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server
    rewrite_report() if sys.argv[1:] == ["--report"] else main()
