"""Where region-scale analyses run: a Dask scheduler given by address (PETAKOTA_DASK_SCHEDULER, e.g.
tcp://10.0.0.5:8786, whose workers may be on other machines) or, without one, a LocalCluster on this machine.
The same analysis code runs on either."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gis.core.errors import InvalidInput


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2, memory_gb: float = 1.5,
                connect_seconds: float = 10) -> Iterator:
    """A distributed Client for the duration of a run: connected to `scheduler` when given, else to a local
    cluster of `workers` single-thread worker processes (each paused and restarted past `memory_gb`)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=connect_seconds)
        except OSError as e:
            raise InvalidInput(f"the Dask scheduler {scheduler} does not answer ({e}); start it (`dask scheduler`) "
                               "or unset PETAKOTA_DASK_SCHEDULER to run on a local cluster") from None
        try:
            yield client
        finally:
            client.close()
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit=f"{memory_gb}GB") as cluster, Client(cluster) as client:
        yield client


def gather(client):
    """A `compute` for the region analyses: runs delayed objects on the client's cluster, results in order."""
    return lambda delayed: client.gather(client.compute(list(delayed)))
