"""Concurrent editors: N clients doing read-modify-write on a few parks with If-Match, retrying on 412.

Each accepted edit increments a counter kept in the park's name ("... #17"), read from the feature itself: a lost
update (two clients both writing 17 -> 18) would leave the counter below the number of accepted edits. At the
end every park must have counter == accepted PATCHes on it == its version - 1 == the `update` rows of its
history, and the history must show the counter going up by exactly one per version."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, text

NAME = "Taman Uji Penyunting"
_COUNT = re.compile(r"#(\d+)$")


def park_feature(lon: float, lat: float, name: str, size: float = 0.0008) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"nama": name, "kelas": "taman rw", "publik": True}}


def create_parks(base: str, planner_key: str, n: int, tag: str, origin=(98.455, 3.545)) -> list[int]:
    """`n` small parks in a row near the south-west of Binjai, named '<NAME> <tag>-<k> #0'."""
    ids = []
    with httpx.Client(base_url=base, headers={"X-API-Key": planner_key}, timeout=30) as client:
        for k in range(n):
            r = client.post("/collections/parks/items",
                            json=park_feature(origin[0] + k * 0.0012, origin[1], f"{NAME} {tag}-{k} #0"))
            if r.status_code != 201:
                raise RuntimeError(f"creating a park for the editors failed: {r.status_code} {r.text[:300]}")
            ids.append(r.json()["id"])
    return ids


@dataclass
class EditorsResult:
    clients: int
    edits_per_client: int
    features: list[int]
    accepted: Counter = field(default_factory=Counter)  # feature id -> 204s
    conflicts: int = 0  # 412s
    unexpected: list[str] = field(default_factory=list)  # anything else, with the request
    gave_up: int = 0
    seconds: float = 0.0
    final: dict = field(default_factory=dict)  # feature id -> (counter, version)
    history: dict = field(default_factory=dict)  # feature id -> update rows
    history_counters: dict = field(default_factory=dict)  # feature id -> counters of the update rows, in order
    etags_seen: dict = field(default_factory=dict)  # feature id -> ETags returned by the 204s

    @property
    def total_accepted(self) -> int:
        return sum(self.accepted.values())

    def problems(self) -> list[str]:
        """Every way the run broke the no-lost-update rule (empty when it held)."""
        out = list(self.unexpected)
        if self.gave_up:
            out.append(f"{self.gave_up} edits gave up after too many 412s")
        for fid in self.features:
            n = self.accepted[fid]
            counter, version = self.final[fid]
            if counter != n:
                out.append(f"park {fid}: counter {counter} after {n} accepted edits ({n - counter} lost)")
            if version != n + 1:
                out.append(f"park {fid}: version {version}, expected {n + 1}")
            if self.history[fid] != n:
                out.append(f"park {fid}: {self.history[fid]} update rows in feature_history, expected {n}")
            if self.history_counters[fid] != list(range(1, n + 1)):
                out.append(f"park {fid}: history counters {self.history_counters[fid][:10]}... are not 1..{n}")
            versions = sorted(int(e.strip('W/"')) if e else -1 for e in self.etags_seen[fid])
            if versions != list(range(2, n + 2)):
                out.append(f"park {fid}: the 204s returned ETags for versions {versions[:8]}..., not 2..{n + 1}")
        return out

    def row(self) -> dict:
        return {"clients": self.clients, "edits per client": self.edits_per_client, "parks": len(self.features),
                "accepted (204)": self.total_accepted, "conflicts (412)": self.conflicts,
                "lost updates": sum(self.accepted[f] - self.final[f][0] for f in self.features),
                "history rows == accepted": all(self.history[f] == self.accepted[f] for f in self.features),
                "seconds": round(self.seconds, 1)}


def run_editors(base: str, planner_key: str, engine: Engine, features: list[int], clients: int,
                edits_per_client: int, max_retries: int = 200) -> EditorsResult:
    res = EditorsResult(clients, edits_per_client, features, etags_seen={f: [] for f in features})
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client_loop(c: int):
        accepted, conflicts, unexpected, gave_up, etags = Counter(), 0, [], 0, []
        with httpx.Client(base_url=base, headers={"X-API-Key": planner_key}, timeout=60) as http:
            barrier.wait()
            for k in range(edits_per_client):
                fid = features[(c * 3 + k) % len(features)]
                url = f"/collections/parks/items/{fid}"
                for _attempt in range(max_retries):
                    got = http.get(url)
                    if got.status_code != 200:
                        unexpected.append(f"GET {url} -> {got.status_code} {got.text[:200]}")
                        break
                    name = got.json()["properties"]["nama"]
                    m = _COUNT.search(name)
                    new_name = f"{name[:m.start()]}#{int(m.group(1)) + 1}"
                    r = http.patch(url, headers={"If-Match": got.headers["etag"]},
                                   json={"type": "Feature", "properties": {"nama": new_name}})
                    if r.status_code == 204:
                        accepted[fid] += 1
                        etags.append((fid, r.headers.get("etag")))
                        break
                    if r.status_code == 412:
                        conflicts += 1
                        continue
                    unexpected.append(f"PATCH {url} If-Match {got.headers['etag']} -> {r.status_code} "
                                      f"{r.text[:200]}")
                    break
                else:
                    gave_up += 1
        with lock:
            res.accepted.update(accepted)
            res.conflicts += conflicts
            res.unexpected += unexpected
            res.gave_up += gave_up
            for fid, etag in etags:
                res.etags_seen[fid].append(etag)

    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res.seconds = time.monotonic() - t0

    with engine.connect() as conn:
        for fid in features:
            name, version = conn.execute(text("SELECT nama, version FROM parks WHERE id = :i"), {"i": fid}).one()
            res.final[fid] = (int(_COUNT.search(name).group(1)), version)
            rows = conn.execute(text(
                "SELECT after->>'nama' FROM feature_history WHERE layer = 'parks' AND feature_id = :i "
                "AND action = 'update' ORDER BY id"), {"i": fid}).scalars().all()
            res.history[fid] = len(rows)
            res.history_counters[fid] = [int(_COUNT.search(n).group(1)) for n in rows]
    return res
