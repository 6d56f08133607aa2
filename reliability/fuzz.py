"""Fuzzing the whole OpenAPI document with schemathesis (installed in reliability/.venv, apart from PetaKota's
own pins), anonymously and with a planner key. Every request is recorded (HAR); the goal is no 5xx.

The document the service publishes is enriched first, so that the generated requests get past the lookups and
reach the code behind them: the path parameters that name things (collections, rasters, processes, maps, tile
matrix sets, features) get an `enum` of the real names, tile indices their ranges, and the item writes a GeoJSON
Feature request body. Negative generation still sends values outside those."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
SCHEMATHESIS = VENV / "bin" / "schemathesis"
# One site-suitability run takes ~8 s of CPU (it is tested in tests/test_processes.py): not fuzzed, or the
# examples of one operation would take the whole time budget.
SLOW_PROCESSES = {"site-suitability"}

POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
FEATURE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["Feature"]},
        "geometry": {"oneOf": [
            {"type": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"enum": ["Polygon"]},
                "coordinates": {"type": "array", "items": {"type": "array", "items": POSITION, "minItems": 4}}}},
            {"type": "object", "required": ["type", "coordinates"], "properties": {
                "type": {"enum": ["Point", "MultiPolygon", "LineString"]}, "coordinates": {"type": "array"}}},
        ]},
        "properties": {"type": "object", "properties": {
            "nama": {"type": "string"}, "kelas": {"type": "string"}, "publik": {"type": "boolean"},
            "status": {"type": "string"}, "kompensasi_rp": {"type": "integer"}}},
    },
}


def ensure_venv() -> None:
    """reliability/.venv with schemathesis (a separate venv: it must not change PetaKota's pins)."""
    if SCHEMATHESIS.exists():
        return
    subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "schemathesis>=4,<5"], check=True)


def enriched_schema(base: str, names: dict[str, list]) -> dict:
    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    ranges = {"z": (0, 22), "x": (0, 2**22 - 1), "y": (0, 2**22 - 1), "width": (100, 4000),
              "height": (100, 4000)}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                schema = p.setdefault("schema", {})
                if p["in"] == "path" and p["name"] in names:
                    schema.clear()
                    schema.update({"enum": names[p["name"]]})
                elif p["name"] in ranges and schema.get("type") == "integer":
                    schema["minimum"], schema["maximum"] = ranges[p["name"]]
            if path.startswith("/collections/{collection_id}/items") and method in ("post", "put", "patch"):
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": FEATURE}}}
    return doc


def run_fuzz(base: str, names: dict[str, list], out_dir: Path, label: str, headers: dict | None = None,
             max_examples: int = 20, workers: int = 2, seed: int = 1275, timeout: float = 300) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    schema_path = out_dir / "openapi-fuzz.json"
    schema_path.write_text(json.dumps(enriched_schema(base, names)))
    har = out_dir / f"{label}.har"
    har.unlink(missing_ok=True)
    cmd = [str(SCHEMATHESIS), "run", str(schema_path), "--url", base, "-n", str(max_examples),
           "--phases", "fuzzing,stateful", "-c", "not_a_server_error", "--report", "har",
           "--report-har-path", str(har), "--request-timeout", "60", "-w", str(workers), "--seed", str(seed),
           "--no-shrink", "--suppress-health-check", "all", "--warnings", "off"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - t0
    (out_dir / f"{label}.log").write_text(proc.stdout + proc.stderr)
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    statuses = Counter(e["response"]["status"] for e in entries)
    server_errors = []
    for e in entries:
        status = e["response"]["status"]
        if status >= 500 or status == 0:
            req = e["request"]
            body = (req.get("postData") or {}).get("text", "")
            server_errors.append({"status": status, "method": req["method"], "url": req["url"],
                                  "body": body[:300], "response": e["response"]["content"].get("text", "")[:300]})
    return {"label": label, "requests": len(entries), "statuses": dict(sorted(statuses.items())),
            "server_errors": server_errors, "seconds": seconds, "exit_code": proc.returncode,
            "summary": _summary_lines(proc.stdout)}


def _summary_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if "SUMMARY" in ln)
    except StopIteration:
        return lines[-15:]
    return [ln for ln in lines[start:] if ln.strip()][:40]
