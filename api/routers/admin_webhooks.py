"""Administration of webhooks (admin role): register, list, remove, read a webhook's delivery log and send a
given-up delivery again. The SQL is gis/data/webhooks.py; delivery runs in gis/data/webhook_delivery.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request

from api.routers.admin import Admin
from gis.data import webhooks

router = APIRouter(prefix="/admin/webhooks", tags=["admin"])


@router.get("", summary="List webhooks with their delivery counts (never their secrets)")
def list_webhooks(request: Request, who: Admin):
    with request.app.state.engine.connect() as conn:
        return {"webhooks": webhooks.list_webhooks(conn)}


@router.post("", status_code=201,
             summary="Register a webhook: each create, update or delete of the collections named is POSTed to "
                     "the URL as a CloudEvents 1.0 JSON body signed with the secret (X-PetaKota-Signature: "
                     "sha256=<HMAC-SHA256 of the body>); the secret is shown once")
def create_webhook(request: Request, who: Admin, url: Annotated[str, Body()],
                   collections: Annotated[list[str] | None, Body(description="collection ids; left out or "
                                                                             "empty: every collection")] = None,
                   kinds: Annotated[list[str] | None, Body(description="create, update, delete; left out: "
                                                                       "all three")] = None,
                   secret: Annotated[str | None, Body(description="at least 16 characters; left out: one is "
                                                                  "made and returned")] = None):
    with request.app.state.engine.begin() as conn:
        return webhooks.create(conn, url, who.name, collections, kinds, secret)


@router.get("/{webhook_id}", summary="One webhook with its delivery counts")
def get_webhook(request: Request, who: Admin, webhook_id: int):
    with request.app.state.engine.connect() as conn:
        return webhooks.list_webhooks(conn, webhook_id)[0]


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook with its deliveries and their log")
def remove_webhook(request: Request, who: Admin, webhook_id: int):
    with request.app.state.engine.begin() as conn:
        webhooks.remove(conn, webhook_id)


@router.get("/{webhook_id}/deliveries",
            summary="A webhook's delivery log: the latest deliveries, each with its event and every attempt "
                    "(HTTP status, error, duration)")
def delivery_log(request: Request, who: Admin, webhook_id: int,
                 status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    with request.app.state.engine.connect() as conn:
        return {"webhook": webhook_id, "deliveries": webhooks.log(conn, webhook_id, limit, status)}


@router.post("/{webhook_id}/deliveries/{delivery_id}/resend",
             summary="Send a given-up (failed) delivery again, now")
def resend_delivery(request: Request, who: Admin, webhook_id: int, delivery_id: int):
    with request.app.state.engine.begin() as conn:
        out = webhooks.resend(conn, webhook_id, delivery_id)
    request.app.state.webhook_worker.wake()
    return out
