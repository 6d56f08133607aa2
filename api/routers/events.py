"""`GET /events`: the change events as Server-Sent Events, for a command center's wall. Each event's `id:` is
its history id: a client reconnecting with `Last-Event-ID` gets what it missed, from the database. Anonymous
callers get public layers' events without actors; a key reading private data gets actors and private layers.
The events and who sees which are gis/data/events.py."""

from __future__ import annotations

import json
import time
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event

from api.deps import Caller
from gis.core.errors import InvalidInput
from gis.data import events
from gis.data.auth import Principal

router = APIRouter(tags=["events"])
POLL_SECONDS = 1.0  # how often an open stream looks for new events (one indexed query)
RETRY_MS = 3000  # how long a browser waits before reconnecting


def _start(engine, last_event_id: str | None) -> events.Position:
    with engine.connect() as conn:
        if last_event_id:
            return events.position_of(conn, events.parse_event_id(last_event_id))
        return events.now_position(conn)


def _batch(engine, position: events.Position, collections: list[str]):
    with engine.connect() as conn:
        return events.read(conn, position, collections)


def _frames(batch: list[events.Event], who: Principal, layers: dict, public_url: str) -> list[bytes]:
    out = []
    for event in batch:
        shown, with_actor = events.for_caller(event, who, layers.get(event.collection))
        if shown:
            body = json.dumps(events.cloud_event(event, public_url, with_actor), ensure_ascii=False)
            out.append(format_sse_event(data_str=body, event=event.kind, id=str(event.id)))
    return out


@router.get("/events", response_class=StreamingResponse,
            summary="Change events as Server-Sent Events (text/event-stream): `event:` create|update|delete, "
                    "`id:` the event id (send it back as Last-Event-ID to resume), `data:` the CloudEvents 1.0 "
                    "JSON; a comment every ~15 s keeps the connection open",
            responses={200: {"content": {"text/event-stream": {}}}})
async def event_stream(request: Request, who: Caller,
                       collections: Annotated[str | None, Query(description="collection ids separated by commas; "
                                                                             "left out: every one you may read")]
                       = None,
                       last_event_id: Annotated[str | None, Header(description="resume after this event")] = None):
    state = request.app.state
    layers = await anyio.to_thread.run_sync(state.catalog.layers)
    names = None if collections is None else [n for n in collections.split(",") if n.strip()]
    if names == []:
        raise InvalidInput("collections names no collection: give collection ids separated by commas, or leave "
                           "it out for every one you may read")
    chosen = events.collections_for(who, layers, names)
    position = await run_in_threadpool(_start, state.engine, last_event_id)
    settings = state.settings

    async def stream():
        nonlocal position
        yield f"retry: {RETRY_MS}\n\n".encode()
        quiet_since = time.monotonic()
        while not await request.is_disconnected():  # the server does not stop a stream whose client left
            batch, position = await run_in_threadpool(_batch, state.engine, position, chosen)
            frames = _frames(batch, who, state.catalog.layers() if state.catalog.fresh() else layers,
                             settings.public_url)
            for frame in frames:
                yield frame
            if frames:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settings.events_heartbeat_seconds:
                yield b": heartbeat\n\n"
                quiet_since = time.monotonic()
            if len(batch) < events.BATCH:
                await anyio.sleep(min(POLL_SECONDS, settings.events_heartbeat_seconds))

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
