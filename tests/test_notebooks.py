"""The analyst notebooks: each runs top to bottom against the test server, in a kernel on this very interpreter
(the project's .venv), and its closing asserts are the checks. The committed files carry no outputs, say up
front which data are real, and environment.yml lists every package they import."""

from __future__ import annotations

import ast
import re
import sys

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "petakota-tests"
PROJECT_PACKAGES = {"gis", "layers", "api"}
DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow", "osgeo": "gdal", "sklearn": "scikit-learn"}  # import -> package


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory):
    """A kernelspec whose argv is this interpreter, in a private data dir (nothing is registered globally)."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name=KERNEL, prefix=str(prefix), display_name="PetaKota tests")
    return prefix / "share" / "jupyter"


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, server, jupyter_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("PETAKOTA_URL", server)
    monkeypatch.delenv("PETAKOTA_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)\nprint(sys.prefix)"))
    client = NotebookClient(nb, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # a failing assert in the notebook lands here, with the cell and traceback
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    executable, prefix = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()
    assert (executable, prefix) == (sys.executable, sys.prefix), "the kernel ran another Python"


def test_committed_notebooks_are_clean_and_conventional():
    assert len(NOTEBOOKS) >= 6
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"
        first = nb.cells[0]
        assert first.cell_type == "markdown"
        assert re.search(r"\billustrative\b|\bsynthetic\b", first.source), f"{path.name}: say what is illustrative"
        assert "cahyadsn/wilayah_boundaries" in first.source, f"{path.name}: name the real boundary source"
        code = "\n".join(_code(nb))
        assert 'os.environ.get("PETAKOTA_URL", "http://127.0.0.1:8000")' in code, path.name
        assert 'os.environ.get("PETAKOTA_API_KEY")' in code and "from gis.client import Client" in code, path.name
        assert re.search(r"^assert ", _code(nb)[-1], re.M), f"{path.name}: end with the asserts"


def _imports(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    return names


def test_environment_yml_lists_what_the_notebooks_import():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {re.match(r"[A-Za-z0-9_.\-]+", d).group(0).lower() for d in env["dependencies"] if isinstance(d, str)}
    needed = {"jupyterlab", "ipykernel"}
    for path in NOTEBOOKS:
        for module in _imports("\n".join(_code(nbformat.read(path, as_version=4)))):
            if module not in sys.stdlib_module_names and module not in PROJECT_PACKAGES:
                needed.add(DISTRIBUTIONS.get(module, module).lower())
    missing = sorted(needed - conda)
    assert not missing, f"environment.yml does not list {', '.join(missing)} (imported by the notebooks)"
