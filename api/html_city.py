"""The city a browsable page was asked for (`?city=12.07`) kept by its links, and the cities the landing page
lists. Pure rendering helpers of `api.html`."""

from __future__ import annotations

import re
from urllib.parse import quote

_CITY_VALUE = re.compile(r"[0-9][0-9.,]{0,199}")  # Kemendagri codes, comma-separated


def with_city(href: str | None, city: str | None) -> str | None:
    """`href` with `?city=` added when the page was asked for a city scope (and the link does not set one), so
    that following a link keeps the city."""
    if href is None or not city:
        return href
    base, _, fragment = href.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p]
    if any(p.split("=", 1)[0] == "city" for p in params):
        return href
    params.append(f"city={quote(city, safe=',')}")
    return f"{path}?{'&'.join(params)}" + (f"#{fragment}" if fragment else "")


def keep_city(ctx: dict, city: str | None) -> None:
    """Links to collections, items and features keep the page's `?city=` (Kemendagri codes; anything else
    is not a scope and is dropped)."""
    if not city or not _CITY_VALUE.fullmatch(city):
        return
    for crumb in ctx["crumbs"][1:]:
        crumb["href"] = with_city(crumb["href"], city)
    for key in ("items_href", "collection_href"):
        if ctx.get(key):
            ctx[key] = with_city(ctx[key], city)
    for row in ctx.get("features") or []:
        row["href"] = with_city(row.get("href"), city)
    for feature in (ctx.get("data") or {}).get("features") or []:
        if feature.get("href"):
            feature["href"] = with_city(feature["href"], city)


def _href(city: dict, rel: str) -> str | None:
    """The http(s) link of `city` with relation `rel` (the landing page builds them; nothing else is shown)."""
    for link in city.get("links") or []:
        if not isinstance(link, dict) or link.get("rel") != rel or not isinstance(link.get("href"), str):
            continue
        href = link["href"]
        if href.startswith(("http://", "https://")) or (href.startswith("/") and not href.startswith("//")):
            return href
    return None


def city_rows(doc: dict) -> list[dict]:
    """The cities on the landing page, each with its data (JSON) and its map."""
    return [{"code": c.get("code"), "name": c.get("name"), "kind": c.get("kind"),
             "data_href": _href(c, "describedby"), "map_href": _href(c, "alternate")}
            for c in doc.get("cities") or [] if isinstance(c, dict)]
