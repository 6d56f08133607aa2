"""Map renderers and HTML pages: the web map, the embed, static PNG/PDF maps, explore() for notebooks. This
package owns the templates and the static assets (scripts, styles, vendored Leaflet), the one style specification
(`style_spec`) every renderer draws from and the one id/en message catalogue (`messages`, with `numbers` for
numbers and dates per language); `api` only mounts them."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
