"""The house rules of the code layout (docs/ARCHITECTURE.md): `gis` is the domain and never imports the web
framework; `api` only mounts what `gis.render` owns; modules stay small unless the architecture says why."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = {"fastapi", "starlette", "api"}  # `petakota serve` starts uvicorn by name, lazily: allowed


def _modules(package: str) -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_no_gis_module_imports_the_web_framework_statically():
    offenders = []
    for path in (ROOT / "gis").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in WEB]
    assert not offenders, offenders


def test_importing_every_gis_module_loads_no_web_framework():
    modules = _modules("gis")
    assert len(modules) > 30 and "gis.data.edits" in modules and "gis.render.webmap" in modules
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n"
            "    if m != 'gis.__main__': importlib.import_module(m)\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(WEB)!r})\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_check_can_fail(tmp_path):
    """The import check above would notice a module that pulls in FastAPI."""
    code = "import importlib, sys; importlib.import_module('api.deps'); assert 'fastapi' not in sys.modules"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert run.returncode != 0


def test_api_holds_no_templates_or_static_assets():
    assert not (ROOT / "api" / "templates").exists() and not (ROOT / "api" / "static").exists()
    assert (ROOT / "gis" / "render" / "templates" / "webmap.html").exists()


def test_large_modules_are_explained_in_the_architecture():
    """No module over ~400 lines without a reason in docs/ARCHITECTURE.md ("Large modules")."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    explained = doc.split("## Large modules", 1)[1]
    large = [str(p.relative_to(ROOT)) for pkg in ("gis", "api", "layers") for p in (ROOT / pkg).rglob("*.py")
             if len(p.read_text().splitlines()) > 420]
    assert not [m for m in large if f"`{m}`" not in explained], large


def test_architecture_names_every_package_of_gis():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    packages = sorted(p.parent.name for p in (ROOT / "gis").glob("*/__init__.py"))
    assert len(packages) >= 8
    assert not [p for p in packages if f"**`gis/{p}`**" not in doc], packages
