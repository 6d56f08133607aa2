"""`petakota webhooks`: register, list and remove webhooks, and read a webhook's delivery log."""

from __future__ import annotations

import getpass

import typer

from gis.core import db
from gis.core.errors import PetaKotaError
from gis.core.settings import Settings

webhooks_app = typer.Typer(help="Webhooks: each change of the collections named is POSTed to a URL (CloudEvents "
                                "JSON, signed with HMAC-SHA256), retried until delivered.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _run(work, write: bool = False):
    engine = db.make_engine(Settings(), pool_size=1)
    try:
        with engine.begin() if write else engine.connect() as conn:
            return work(conn)
    except PetaKotaError as exc:
        _fail(exc.detail)
    finally:
        engine.dispose()


@webhooks_app.command("add")
def webhooks_add(url: str = typer.Argument(..., help="the receiver, http(s)://..."),
                 collections: str = typer.Option(None, help="collection ids, comma-separated (default: every "
                                                            "collection)"),
                 kinds: str = typer.Option(None, help="create,update,delete (default: all three)"),
                 secret: str = typer.Option(None, help="the shared secret signing deliveries, 16+ characters "
                                                       "(default: one is made and printed)")) -> None:
    """Register a webhook; it receives the changes made from now on."""
    from gis.data import webhooks

    hook = _run(lambda conn: webhooks.create(conn, url, f"cli:{getpass.getuser()}", collections, kinds, secret),
                write=True)
    typer.echo(f"webhook {hook['id']} -> {hook['url']} ({_scope(hook)})")
    if secret is None:
        typer.echo(f"secret (shown once): {hook['secret']}")


def _scope(hook: dict) -> str:
    return (f"collections {','.join(hook['collections']) or 'all'}, kinds {','.join(hook['kinds'])}"
            f"{'' if hook['active'] else ', inactive'}")


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List webhooks with their pending, delivered and failed deliveries."""
    from gis.data import webhooks

    for h in _run(webhooks.list_webhooks):
        typer.echo(f"{h['id']:4d}  {h['url']}  [{_scope(h)}]  pending {h['pending']}, delivered {h['delivered']}, "
                   f"failed {h['failed']}")


@webhooks_app.command("remove")
def webhooks_remove(webhook_id: int) -> None:
    """Remove a webhook with its deliveries and their log."""
    from gis.data import webhooks

    _run(lambda conn: webhooks.remove(conn, webhook_id), write=True)
    typer.echo(f"webhook {webhook_id} removed")


@webhooks_app.command("log")
def webhooks_log(webhook_id: int, limit: int = typer.Option(20, help="how many deliveries, newest first"),
                 status: str = typer.Option(None, help="only pending, delivered or failed ones")) -> None:
    """A webhook's latest deliveries, each with every attempt (HTTP status or error, duration)."""
    from gis.data import webhooks

    for d in _run(lambda conn: webhooks.log(conn, webhook_id, limit, status)):
        typer.echo(f"delivery {d['id']}: event {d['event_id']} {d['collection']}/{d['feature_id']} "
                   f"v{d['version']}: {d['status']} after {d['attempts']} attempt(s)")
        for a in d["attempts_log"]:
            result = a["status"] if a["error"] is None else a["error"]
            typer.echo(f"    #{a['attempt']} {a['at']}  {result}  {a['duration_ms']} ms")
