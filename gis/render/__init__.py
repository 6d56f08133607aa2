"""Map renderers and HTML pages: the web map, the embed, static PNG/PDF maps, explore() for notebooks. This
package owns the templates and the static assets (scripts, styles, vendored Leaflet); `api` only mounts them."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
