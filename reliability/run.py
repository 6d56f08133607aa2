"""`make reliability`: load, fault, fuzz, concurrent editors, leak scan and hostile input against a PetaKota of
its own, on a private PostGIS cluster (reliability/var/pg, port 5449) that it creates, restarts and stops, so that
nobody else is disturbed. Prints a table and writes docs/reliability.md. Not part of `make test` (the quick
version is tests/test_reliability.py). About 5 minutes.

Environment: REL_LOAD_SECONDS (60), REL_FUZZ_EXAMPLES (25 per operation and phase), REL_PORT (8201),
REL_PG_PORT (5449). DATABASE_URL is ignored: the run always uses its own cluster."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from reliability import editors, fuzz, hostile, leaks, leaks_geoportal, load  # noqa: E402
from reliability.cluster import Cluster, Server, petakota  # noqa: E402

HERE = ROOT / "reliability"
VAR = HERE / "var"
DOC = ROOT / "docs" / "reliability.md"
PORT = int(os.environ.get("REL_PORT", "8201"))
PG_PORT = int(os.environ.get("REL_PG_PORT", "5449"))
LOAD_SECONDS = int(os.environ.get("REL_LOAD_SECONDS", "60"))
FUZZ_EXAMPLES = int(os.environ.get("REL_FUZZ_EXAMPLES", "25"))
CONNECTIONS = 64
WORKERS = 2
DB = "petakota"


def log(msg: str) -> None:
    print(f"\033[1;34m[reliability]\033[0m {msg}", flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                      if ln.startswith("MemTotal")))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    wrk_v = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    st_v = subprocess.run([str(fuzz.SCHEMATHESIS), "--version"], capture_output=True, text=True).stdout.strip()
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": mem_kb / 1024 / 1024, "kernel": platform.release(), "python": platform.python_version(),
            "commit": commit + (" with uncommitted changes" if dirty else ""),
            "wrk": (wrk_v.stdout + wrk_v.stderr).split(" [")[0].strip(), "schemathesis": st_v.split()[-1],
            "uvicorn": version("uvicorn"), "loadavg_start": os.getloadavg()}


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian/Ubuntu)")
    log("installing wrk (apt)")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]):
        subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)


def setup(cluster: Cluster, env: dict) -> dict:
    if (cluster.datadir / "postmaster.pid").exists():
        log("stopping the cluster a previous run left running")
        cluster.stop("immediate")
    if cluster.running() or not port_free(PG_PORT):
        raise RuntimeError(f"port {PG_PORT} is in use: stop what runs there (a previous run: "
                           f"runuser -u postgres -- pg_ctl -D {cluster.datadir} stop)")
    if not port_free(PORT):
        raise RuntimeError(f"port {PORT} is in use (REL_PORT picks another)")
    cluster.init()
    cluster.start()
    cluster.recreate_database(DB)
    if (VAR / "data").exists():
        shutil.rmtree(VAR / "data")
    petakota(env, "db", "upgrade")
    petakota(env, "load-sample")
    keys = {}
    for role in ("planner", "analyst", "admin"):  # admin: the webhook pages' control in the leak scan
        keys[role] = petakota(env, "keys", "create", "--role", role, "--name", f"reliability {role}").split()[-1]
    versions = cluster.psql(DB, "SELECT split_part(version(), ' ', 2) || ' / ' || postgis_lib_version()")
    return {"keys": keys, "postgres": versions}


def step(results: dict, name: str, fn):
    log(f"{name} ...")
    t0 = time.monotonic()
    try:
        results[name] = fn()
    except Exception as exc:  # one step failing must not hide the others' figures
        traceback.print_exc()
        results[name] = {"error": f"{exc.__class__.__name__}: {exc}"}
    results[name]["_seconds"] = time.monotonic() - t0
    log(f"{name}: {time.monotonic() - t0:.0f} s")


def main() -> int:
    t_start = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server and cluster
    ensure_wrk()
    fuzz.ensure_venv()
    info = machine()
    VAR.mkdir(exist_ok=True)
    cluster = Cluster(VAR / "pg", PG_PORT)
    url = cluster.url(DB)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PETAKOTA_DATABASE_URL")}
    env.update(DATABASE_URL=url, PETAKOTA_DATA_DIR=str(VAR / "data"))
    server = Server(env, PORT, WORKERS, VAR / "server.log")
    results: dict = {}
    engine = None
    try:
        log(f"private PostGIS cluster in {cluster.datadir} on port {PG_PORT}; PetaKota on port {PORT}")
        s = setup(cluster, env)
        info["postgres"] = s["postgres"]
        keys = s["keys"]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True,
                               pool_size=4)
        server.start()
        base = server.base
        info["workers"] = server.worker_pids()
        paths = load.mixed_paths(engine)

        step(results, "load", lambda: load.load_test(base, paths, server.worker_pids, LOAD_SECONDS, CONNECTIONS))
        step(results, "fault", lambda: load.fault_test(base, engine, cluster, fault_paths(engine)))
        step(results, "editors", lambda: run_editors(base, keys, engine))
        step(results, "leaks", lambda: run_leaks(base, keys, engine, env))
        step(results, "hostile", lambda: run_hostile(base, keys, engine))
        step(results, "fuzz", lambda: run_fuzz(base, keys, engine))
        results["server_log"] = server_log_summary(server.log)
    except Exception as exc:
        traceback.print_exc()
        results["fatal"] = f"{exc.__class__.__name__}: {exc}"
    finally:
        server.stop()
        if engine is not None:
            engine.dispose()
        cluster.stop("fast")
        log("server and cluster stopped")
    info["total_seconds"] = time.monotonic() - t_start
    info["loadavg_end"] = os.getloadavg()
    (VAR / "results.json").write_text(json.dumps({"machine": info, **results}, indent=1, default=str))
    goals = evaluate(results)
    print_table(goals)
    DOC.write_text(render_doc(info, results, goals))
    log(f"wrote {DOC.relative_to(ROOT)} ({info['total_seconds']:.0f} s in all)")
    return 0 if all(ok for _, _, _, ok in goals) and "fatal" not in results else 1


# --- steps ----------------------------------------------------------------------------------------------------

def fault_paths(engine) -> list[str]:
    from reliability.common import city_tiles

    tiles = [f"/collections/parks/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in city_tiles(engine, (13, 14), 6)]
    paths = []
    for k in range(12):
        paths += ["/healthz", f"/collections/parks/items?limit=5&offset={k}",
                  f"/collections/kelurahan/items?limit=2&offset={k}", f"/collections/zoning/items/{k + 1}",
                  tiles[k % len(tiles)]]
    return paths


def run_editors(base, keys, engine) -> dict:
    ids = editors.create_parks(base, keys["planner"], 10, "rel")
    res = editors.run_editors(base, keys["planner"], engine, ids, clients=8, edits_per_client=100)
    return {**res.row(), "problems": res.problems(), "parks_ids": ids}


def run_leaks(base, keys, engine, env) -> dict:
    leaks_geoportal.seed(base, keys["admin"])  # a private contact e-mail and a webhook, for the controls
    values = {**leaks.private_values(engine), **leaks.record_private_values(engine),
              **leaks_geoportal.geoportal_private_values(engine)}
    scanner = leaks.Scanner(values)
    problems: list[str] = []
    started = time.monotonic()
    geoportal = leaks.crawl(base, engine, scanner, leaks.Crawl(), analyst_key=keys["analyst"], problems=problems)
    seconds = time.monotonic() - started
    archive = VAR / "public.pmtiles"
    petakota(env, "export-pmtiles", "--public", "--out", str(archive))
    n_tiles = leaks.scan_pmtiles(archive, scanner)
    # controls: the same checks do find private data where it is allowed (an analyst key, --all-fields)
    control_api = leaks.control(base, keys["analyst"], values)
    full = VAR / "all-fields.pmtiles"
    petakota(env, "export-pmtiles", "--all-fields", "--out", str(full))
    control_scanner = leaks.Scanner(values)
    leaks.scan_pmtiles(full, control_scanner)
    control_geo, _ = leaks_geoportal.control_geoportal(base, engine, values, keys["analyst"], keys["admin"])
    return {"responses": scanner.scanned, "crawl_seconds": round(seconds, 1), "geoportal_requests": geoportal.requests,
            "geoportal_seconds": geoportal.seconds,
            "events_replayed": geoportal.events, "control_geoportal_findings": control_geo.findings,
            "kinds": scanner.kinds, "pmtiles_entries": n_tiles,
            "private_values": {k: len(v) for k, v in values.items()}, "findings": scanner.findings,
            "problems": problems, "control_api_findings": control_api,
            "control_pmtiles_findings": len(control_scanner.findings)}


def _describe_body(case: hostile.Case) -> str:
    if case.body is None:
        return ""
    body = case.body() if callable(case.body) else case.body
    if len(body) > 2000:
        return f"{len(body) / 1e6:.1f} MB: {body[:60]!r}..."
    return repr(body[:200])


def run_hostile(base, keys, engine) -> dict:
    res = hostile.run_corpus(base, engine, keys)
    outs = res["outcomes"]
    groups = {}
    for o in outs:
        g = groups.setdefault(o.case.group, {"cases": 0, "ok": 0, "statuses": {}})
        g["cases"] += 1
        g["ok"] += o.problem is None
        g["statuses"][o.status] = g["statuses"].get(o.status, 0) + 1
    failures = [{"group": o.case.group, "label": o.case.label, "method": o.case.method, "path": o.case.path[:300],
                 "headers": {k: v for k, v in o.case.headers.items()}, "auth": o.case.auth,
                 "body": _describe_body(o.case), "status": o.status, "problem": o.problem,
                 "response": o.detail[:300]} for o in outs if o.problem]
    return {"cases": len(outs), "ok": sum(o.problem is None for o in outs), "groups": groups,
            "failures": failures, "db_unchanged": res["db_unchanged"], "db_changes": res["db_changes"],
            "slowest": max((o.seconds, o.case.label) for o in outs), "fingerprint": res["fingerprint"]}


def run_fuzz(base, keys, engine) -> dict:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as http:
        collections = [c["id"] for c in http.get("/collections").json()["collections"]]
        rasters = [r["id"] for r in http.get("/rasters").json()["rasters"]]
        processes = [p["id"] for p in http.get("/processes").json()["processes"] if p["id"] not in fuzz.SLOW_PROCESSES]
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM parks ORDER BY id LIMIT 3")).scalars().all()
    names = {"collection_id": collections, "raster_id": rasters, "process_id": processes,
             "map_id": ["binjai", "kawasan-industri-binjai"], "tms": ["WebMercatorQuad"],
             "feature_id": [*ids, 40, 999999], "version": [1, 2]}
    out = VAR / "fuzz"
    runs = [fuzz.run_fuzz(base, names, out, "anonymous", None, FUZZ_EXAMPLES),
            fuzz.run_fuzz(base, names, out, "planner", {"X-API-Key": keys["planner"]}, FUZZ_EXAMPLES)]
    return {"runs": runs, "requests": sum(r["requests"] for r in runs),
            "server_errors": [e for r in runs for e in r["server_errors"]],
            "tool_errors": sum(_count_tool_errors(out / f"{r['label']}.log") for r in runs),
            "excluded_processes": sorted(fuzz.SLOW_PROCESSES), "max_examples": FUZZ_EXAMPLES}


def _count_tool_errors(path: Path) -> int:
    return path.read_text().count("Runtime Error\n") if path.exists() else 0


def server_log_summary(path: Path) -> dict:
    text_ = path.read_text(errors="replace") if path.exists() else ""
    tracebacks = text_.count("Traceback (most recent call last)")
    errors = [ln for ln in text_.splitlines() if "ERROR" in ln][:40]
    return {"tracebacks": tracebacks, "error_lines": errors}


# --- goals, table, document ----------------------------------------------------------------------------------

def evaluate(r: dict) -> list[tuple[str, str, str, bool]]:
    """(check, figure, goal, met)"""
    g = []

    def bad(name):
        return "error" in r.get(name, {"error": "not run"})

    if "fatal" in r:
        g.append(("run", r["fatal"], "completes", False))
    if bad("load"):
        g.append(("load", r.get("load", {}).get("error", "not run"), "runs", False))
    else:
        ld = r["load"]
        m = ld["memory"]
        growth = m["total_end_mb"] - m["total_start_mb"]
        g.append(("load: errors", f"{ld['errors']} of {ld['requests']:,} requests", "0", ld["errors"] == 0))
        g.append(("load: throughput", f"{ld['rps']:.0f} req/s, p50 {ld['p50_us'] / 1000:.1f} ms, "
                  f"p99 {ld['p99_us'] / 1000:.1f} ms", "(reported)", True))
        g.append(("load: worker RSS", f"{m['total_start_mb']:.0f} -> {m['total_end_mb']:.0f} MB (max "
                  f"{m['total_max_mb']:.0f}), {m['late_mb_per_min']:+.1f} MB/min in the second half",
                  "flat (end within 10% of start)", growth <= 0.10 * m["total_start_mb"]))
    if bad("fault"):
        g.append(("fault", r.get("fault", {}).get("error", "not run"), "runs", False))
    else:
        f = r["fault"]
        down = f["down"]
        checked = [down["items"], down["healthz"]]
        all503 = all(set(d["statuses"]) == {503} and d["requests"] > 0 for d in checked)
        headers_ok = all(d["retry_after_missing"] == 0 for d in checked) and down["items"]["not_problem_json"] == 0
        g.append(("fault: while PostgreSQL is down", f"items {down['items']['statuses']}, healthz "
                  f"{down['healthz']['statuses']}", "all 503", all503))
        g.append(("fault: 503 answers", f"Retry-After missing {sum(d['retry_after_missing'] for d in checked)}, "
                  f"items not problem+json {down['items']['not_problem_json']}", "0, 0", headers_ok))
        g.append(("fault: latency while down", f"items p50 {down['items']['p50_ms']:.0f} ms, p99 "
                  f"{down['items']['p99_ms']:.0f} ms, max {down['items']['max_ms']:.0f} ms", "fast (p99 < 1 s)",
                  down["items"]["p99_ms"] < 1000))
        g.append(("fault: 500s or hangs", f"{len(f['server_errors'])} non-503 5xx/no answer, {f['hangs']} > 10 s",
                  "0, 0", not f["server_errors"] and f["hangs"] == 0))
        rec = f["recovery_s"]
        g.append(("fault: recovery", f"{rec:.2f} s after PostgreSQL was back" if rec is not None else "never",
                  "by itself, no restart", rec is not None and rec < 30))
        after_ok = (f["healthz_after"] == [200, "ok"] or tuple(f["healthz_after"]) == (200, "ok")) and \
            f["tile_after"] == 200 and f["items_after"] == 200 and f["listener"]["fresh_after_sql_edit"]
        g.append(("fault: after recovery", f"healthz {f['healthz_after']}, tile {f['tile_after']}, items "
                  f"{f['items_after']}, tile cache invalidated by SQL edit: {f['listener']['fresh_after_sql_edit']}",
                  "ok, 200, 200, yes", after_ok))
    if bad("editors"):
        g.append(("editors", r.get("editors", {}).get("error", "not run"), "runs", False))
    else:
        e = r["editors"]
        g.append(("editors: 8 x 100 PATCH on 10 parks", f"{e['accepted (204)']} accepted, "
                  f"{e['conflicts (412)']} x 412, {e['lost updates']} lost", "no lost update, history == accepted",
                  not e["problems"]))
    if bad("leaks"):
        g.append(("leak scan", r.get("leaks", {}).get("error", "not run"), "runs", False))
    else:
        lk = r["leaks"]
        g.append(("leak scan", f"{lk['responses']:,} responses/tiles, {len(lk['findings'])} with private data",
                  "0", not lk["findings"] and lk["control_api_findings"] > 0 and lk["control_pmtiles_findings"] > 0
                  and all(n > 0 for n in lk["control_geoportal_findings"].values())))
    if bad("hostile"):
        g.append(("hostile input", r.get("hostile", {}).get("error", "not run"), "runs", False))
    else:
        h = r["hostile"]
        g.append(("hostile input", f"{h['ok']} of {h['cases']} answered 4xx problem+json",
                  "all", h["ok"] == h["cases"]))
        g.append(("hostile input: database", "unchanged" if h["db_unchanged"] else f"changed: {h['db_changes']}",
                  "unchanged", h["db_unchanged"]))
    if bad("fuzz"):
        g.append(("fuzz", r.get("fuzz", {}).get("error", "not run"), "runs", False))
    else:
        fz = r["fuzz"]
        g.append(("fuzz (schemathesis)", f"{fz['requests']:,} requests, {len(fz['server_errors'])} 5xx",
                  "0 5xx", not fz["server_errors"] and fz["requests"] > 0))
    return g


def print_table(goals) -> None:
    w1 = max(len(c) for c, *_ in goals)
    w2 = min(max(len(f) for _, f, *_ in goals), 90)
    print()
    print(f"{'check':{w1}}  {'figure':{w2}}  {'goal':32}  met")
    print("-" * (w1 + w2 + 42))
    for check, figure, goal, ok in goals:
        print(f"{check:{w1}}  {figure[:w2]:{w2}}  {goal[:32]:32}  {'yes' if ok else 'NO'}")
    print()


def _md(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def render_doc(info: dict, r: dict, goals) -> str:
    out = []
    w = out.append
    w("# Reliability and security")
    w("")
    w("Load, fault, fuzz, concurrent editors, leak scan and hostile input against a PetaKota of its own.")
    w(f"Generated by `make reliability` (reliability/run.py) on {info['date']}; do not edit by hand, run it again.")
    w("It is not part of `make test` (tests/test_reliability.py is the quick version that is). It takes about "
      f"5 minutes ({info['total_seconds'] / 60:.1f} this time).")
    w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {info['cpu']}, {info['cores']} cores (`nproc`), {info['memory_gib']:.1f} GiB memory, Linux "
      f"{info['kernel']} |")
    w(f"| PostgreSQL / PostGIS | {info.get('postgres', '?')}: a private cluster (reliability/var/pg, port {PG_PORT}, "
      "fsync off), created by the run |")
    w(f"| PetaKota | commit {info['commit']}; `petakota serve --port {PORT} --workers {WORKERS}`, uvicorn "
      f"{info['uvicorn']}, Python {info['python']} |")
    w(f"| tools | {info['wrk']}; schemathesis {info['schemathesis']} (reliability/.venv) |")
    la0, la1 = info["loadavg_start"], info["loadavg_end"]
    w(f"| machine load | load average {la0[0]:.2f} at the start, {la1[0]:.2f} at the end (anything else running "
      "on the 2 cores, e.g. another benchmark, lowers the throughput figures) |")
    w("")
    w("## Summary")
    w("")
    w("| check | figure | goal | met |")
    w("|---|---|---|---|")
    for check, figure, goal, ok in goals:
        w(f"| {_md(check)} | {_md(figure)} | {_md(goal)} | {'yes' if ok else '**no**'} |")
    w("")
    _doc_load(w, r.get("load", {}))
    _doc_fault(w, r.get("fault", {}))
    _doc_fuzz(w, r.get("fuzz", {}))
    _doc_editors(w, r.get("editors", {}))
    _doc_leaks(w, r.get("leaks", {}))
    _doc_hostile(w, r.get("hostile", {}))
    sl = r.get("server_log", {})
    if sl:
        w("## Server log")
        w("")
        w(f"{sl['tracebacks']} tracebacks in reliability/var/server.log (the 500s above are logged there with "
          "theirs; the 503s of the fault test as warnings).")
        w("")
    return "\n".join(out) + "\n"


def _err(w, d) -> bool:
    if "error" in d:
        w(f"The step failed: `{_md(d['error'])}`.")
        w("")
        return True
    return False


def _doc_load(w, ld):
    w("## Load")
    w("")
    w(f"`wrk -t2 -c{CONNECTIONS} -d{LOAD_SECONDS}s --timeout 30s` with bench/paths.lua cycling through "
      f"{ld.get('paths', '?')} paths ({ld.get('tile_paths', '?')} vector tiles: 8 layers at z12-z15 across the "
      "city and the multi-layer tile at z12-z14; the rest items pages of 6 collections with limits, offsets, "
      "bboxes and sortby, and single features), shuffled. 10 s of the same load first (it fills the tile cache; "
      "items always go to PostgreSQL). The RSS (VmRSS of /proc/<pid>/status) of both uvicorn workers is sampled "
      "every 3 s during the measured run.")
    w("")
    if _err(w, ld):
        return
    m = ld["memory"]
    w("| requests | req/s | p50 | p90 | p99 | max | errors (status/connect/read/write/timeout) |")
    w("|---|---|---|---|---|---|---|")
    w(f"| {ld['requests']:,} | {ld['rps']:.0f} | {ld['p50_us'] / 1000:.1f} ms | {ld['p90_us'] / 1000:.1f} ms | "
      f"{ld['p99_us'] / 1000:.1f} ms | {ld['max_us'] / 1000:.0f} ms | {ld['status_errors']}/{ld['connect_errors']}/"
      f"{ld['read_errors']}/{ld['write_errors']}/{ld['timeouts']} |")
    w("")
    w("| worker | RSS start | end | max |")
    w("|---|---|---|---|")
    for pid, s in m["workers"].items():
        w(f"| pid {pid} | {s['start_mb']:.0f} MB | {s['end_mb']:.0f} MB | {s['max_mb']:.0f} MB |")
    w(f"| both | {m['total_start_mb']:.0f} MB | {m['total_end_mb']:.0f} MB | {m['total_max_mb']:.0f} MB |")
    w("")
    w(f"Before the warm-up the workers held {m['before_warmup_mb']:.0f} MB together. {m['samples']} samples "
      f"(MB, both workers): {', '.join(str(v) for v in m['series_mb'])}; least-squares slope "
      f"{m['slope_mb_per_min']:+.1f} MB/min over the run, {m['late_mb_per_min']:+.1f} MB/min over its second half.")
    if ld.get("failing_paths"):
        w("")
        w("Paths that answered >= 400 when fetched again after the run: " +
          "; ".join(f"`{_md(p)}`" for p in ld["failing_paths"]))
    w("")


def _doc_fault(w, f):
    w("## Fault: PostgreSQL stopped and started under load")
    w("")
    w("16 threads (httpx, keep-alive) cycle through `/healthz`, items pages of parks and kelurahan, single zoning "
      "features and parks tiles at z13-z14 (already cached by then). After 5 s, `pg_ctl stop -m fast`; 5 s later "
      "`pg_ctl start`; the load goes on until `/healthz` and an items page have answered 200 for 3 s in a row. "
      "PetaKota is not restarted.")
    w("")
    if _err(w, f):
        return
    w(f"PostgreSQL took {f['stop_seconds']:.2f} s to stop and {f['start_seconds']:.2f} s to start; it was down for "
      f"{f['down_seconds']:.1f} s. {f['requests']:,} requests in all: {f['status_all']}.")
    w("")
    w("Requests sent and answered while PostgreSQL was down:")
    w("")
    w("| | requests | statuses | p50 | p99 | max | 503 without Retry-After | content type of the 503s |")
    w("|---|---|---|---|---|---|---|---|")
    for k, d in f["down"].items():
        w(f"| {k} | {d['requests']} | {d['statuses']} | {d['p50_ms']:.0f} ms | {d['p99_ms']:.0f} ms | "
          f"{d['max_ms']:.0f} ms | {d['retry_after_missing']} | {_md(d['ctypes'])} |")
    w("")
    w("Tiles already in the in-memory cache are still served (200) while the database is down: that is by design "
      "(a cached tile costs no SQL); tiles not cached yet answer 503 like items. `/healthz` answers 503 with "
      "Retry-After and its own JSON health document (`{\"status\": \"error\", \"database\": false}`), not "
      "problem+json.")
    w("")
    rec = f["recovery_s"]
    w(f"Recovery: the first items/healthz request sent after PostgreSQL was back answered 200 "
      f"{rec:.2f} s after `pg_ctl start` returned; {f['errors_after_restart']} errors after that. "
      if rec is not None else "Recovery: **none** within 60 s. ")
    w(f"Afterwards `/healthz` {f['healthz_after']}, a tile never rendered before {f['tile_after']}, a cached tile "
      f"{f['cached_tile_after']}, items {f['items_after']}. Each worker's LISTEN connection (tile cache "
      f"invalidation) reconnected by itself: a park renamed by direct SQL after the restart showed in its tile "
      f"from every worker: {f['listener']['fresh_after_sql_edit']}. Slowest request of the whole test "
      f"{f['slowest_ms']:.0f} ms; non-503 5xx or no answer: {len(f['server_errors'])}"
      + (f" ({'; '.join(f['server_errors'][:5])})" if f["server_errors"] else "") + ".")
    w("")


def _doc_fuzz(w, fz):
    w("## Fuzz (schemathesis)")
    w("")
    w(f"`schemathesis run` over the service's own OpenAPI document (`/openapi.json`, 45 operations), enriched by "
      "reliability/fuzz.py so that generated requests reach the code (real collection, raster, process, map and "
      "feature ids as `enum`s, tile index ranges, a GeoJSON Feature body for item writes); phases fuzzing and "
      f"stateful, at most {fz.get('max_examples', '?')} examples per operation, check `not_a_server_error`, "
      "every request recorded as HAR (reliability/var/fuzz/). Once anonymously, once with a planner key "
      "(`X-API-Key`). "
      f"Not fuzzed: {', '.join(fz.get('excluded_processes', []))} (one run takes ~8 s of CPU; its inputs are "
      "tested in tests/test_processes.py). schemathesis's coverage phase is not used: in this version it stops "
      "with an internal error (hypothesis `AST constructor recursion depth mismatch`) on some operations.")
    w("")
    if _err(w, fz):
        return
    w("| run | requests | statuses | 5xx | seconds |")
    w("|---|---|---|---|---|")
    for run in fz["runs"]:
        w(f"| {run['label']} | {run['requests']:,} | {_md(run['statuses'])} | {len(run['server_errors'])} | "
          f"{run['seconds']:.0f} |")
    w("")
    if fz["server_errors"]:
        w("5xx answers (request that caused it):")
        w("")
        for e in fz["server_errors"][:30]:
            w(f"- {e['status']} `{e['method']} {_md(e['url'][:300])}`" + (f" body `{_md(e['body'][:200])}`"
                                                                         if e["body"] else ""))
        w("")
    if fz.get("tool_errors"):
        w(f"schemathesis itself reported {fz['tool_errors']} internal error(s) (not the server's).")
        w("")


def _doc_editors(w, e):
    w("## Concurrent editors")
    w("")
    w("10 parks created for the purpose; 8 clients (threads, httpx), each doing 100 read-modify-write edits: "
      "GET the park (ETag), PATCH its name with the counter in it incremented, `If-Match` the ETag; on 412 read "
      "again and retry. A lost update would leave a counter below the number of accepted edits. Checked in the "
      "database afterwards: counter == accepted PATCHes == version - 1 == `update` rows in feature_history, the "
      "history's counters go 1, 2, 3... with no gap or repeat, and the 204s returned every ETag once.")
    w("")
    if _err(w, e):
        return
    w("| clients | edits each | parks | accepted (204) | 412 | lost updates | history rows == accepted | seconds |")
    w("|---|---|---|---|---|---|---|---|")
    w(f"| {e['clients']} | {e['edits per client']} | {e['parks']} | {e['accepted (204)']} | {e['conflicts (412)']} | "
      f"{e['lost updates']} | {e['history rows == accepted']} | {e['seconds']} |")
    w("")
    for p in e["problems"]:
        w(f"- {_md(p)}")
    if e["problems"]:
        w("")


def _doc_leaks(w, lk):
    w("## Leak scan")
    w("")
    w("Everything an anonymous caller can fetch, decoded and searched for the private field names (pemilik, nik, "
      "kompensasi_rp, kontak_nama, kontak_telepon; whole words) and for every private value read from the "
      "database (owner names, NIKs, compensation amounts also with thousands separators, contact names and "
      "phones; whole tokens): landing, conformance, OpenAPI, collections (JSON and HTML), every collection's "
      "items as JSON, HTML, CSV and GeoPackage (`limit=10000`; GeoPackages dumped with sqlite3), queryables and "
      "schema (JSON and HTML), the history of 3 features of each private layer, every collection's tiles at "
      "z12/z14/z16 across the city (MVT decoded), the multi-layer tile at z12-z14 (all layers, and "
      "`collections=project_parcels,business_centers`), TileJSON, style, /layers, /rasters, /processes, the "
      "results of project-progress and business-center-coverage run anonymously, /embed/binjai, /map, the static "
      "map PNG (image only: its text chunks), every tile of a `petakota export-pmtiles --public` archive, and the "
      "results of an analyst's asynchronous project-progress job as seen through anonymous `/jobs`; WFS 2.0.0 "
      "(GetCapabilities, DescribeFeatureType as XML Schema and JSON, GetFeature as GML 3.2 and GeoJSON for every "
      "type), every metadata record as JSON, ISO 19139 and DCAT and the catalogue's DCAT (private contact e-mails), "
      "the event stream replayed from the first event (no private layer's event, no actor: the names in the "
      "history are private values) and the webhook pages (refused).")
    w("")
    if _err(w, lk):
        return
    w(f"{lk['responses']:,} responses and tiles scanned ({_md(lk['kinds'])}); private values known: "
      f"{_md(lk['private_values'])}. Controls (the scan can fail): with an analyst key the items carry private "
      f"data ({lk['control_api_findings']} findings), and so does an `--all-fields` archive "
      f"({lk['control_pmtiles_findings']}); the geoportal surfaces with an analyst key (webhooks: an admin's) "
      f"{_md(lk['control_geoportal_findings'])}. The crawl took {lk['crawl_seconds']} s; geoportal requests "
      f"{_md(lk['geoportal_requests'])} (seconds {_md(lk.get('geoportal_seconds', {}))}), "
      f"{lk['events_replayed']:,} events replayed.")
    w("")
    if lk["findings"]:
        w("**Findings:**")
        w("")
        for f in lk["findings"][:30]:
            w(f"- {_md(f)}")
        w("")
    else:
        w("No private field name or value in any of them.")
        w("")
    if lk["problems"]:
        w("Requests that did not answer as expected: " + "; ".join(f"`{_md(p)}`" for p in lk["problems"][:10]))
        w("")


def _doc_hostile(w, h):
    w("## Hostile input")
    w("")
    w("reliability/hostile.py: every request must be answered 4xx with an RFC 9457 problem+json body; paths are "
      "sent byte for byte (`..`, `%2e%2e`, `;` reach the server as written); writes carry a planner key and, "
      "for PUT/PATCH, the target's current ETag, so that only the hostile part can make them fail. Before and "
      "after: row counts of every table and an md5 over every row of parks and project_parcels. Below, `{park}` "
      "is the park with the lowest id and `{etag}` its current ETag. Item writes must answer 413 to a 50 MB body; "
      "the other POSTs have no size limit of their own, so for them any 4xx passes.")
    w("")
    if _err(w, h):
        return
    w("| group | cases | as expected | statuses |")
    w("|---|---|---|---|")
    for name, g in h["groups"].items():
        w(f"| {name} | {g['cases']} | {g['ok']} | {_md(dict(sorted(g['statuses'].items())))} |")
    w("")
    w(f"Database afterwards: {'unchanged' if h['db_unchanged'] else 'CHANGED ' + _md(h['db_changes'])}. "
      f"Slowest case: {h['slowest'][1]} ({h['slowest'][0]:.2f} s).")
    w("")
    if h["failures"]:
        w("Not as expected (exact request, answer):")
        w("")
        for f in h["failures"]:
            hdrs = ", ".join(f"{k}: {v}" for k, v in f["headers"].items())
            w(f"- {_md(f['label'])}: `{f['method']} {_md(f['path'][:200])}`"
              + (f" headers `{_md(hdrs)}`" if hdrs else "") + (f" ({f['auth']} key)" if f["auth"] else "")
              + (f" body `{_md(f['body'][:160])}`" if f["body"] else "")
              + f" -> **{f['status']}** ({_md(f['problem'])}): `{_md(f['response'][:160])}`")
        w("")


if __name__ == "__main__":
    sys.exit(main())
