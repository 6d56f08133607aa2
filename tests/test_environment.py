"""environment.yml (conda, for analysts) lists the same runtime dependencies as pyproject.toml."""

import re
import tomllib

import yaml

from tests.conftest import ROOT

# pip extras become separate conda packages
EXTRAS_AS_PACKAGES = {"psycopg[binary,pool]": {"psycopg", "psycopg-pool"},
                      "dask[array]": {"dask-core"}}  # conda: dask-core; numpy is listed anyway


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", spec)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    for spec in project["dependencies"]:
        name, bound = _split(spec)
        for conda_name in EXTRAS_AS_PACKAGES.get(name, {name}):
            assert conda_name in conda, f"{conda_name} missing from environment.yml"
            assert conda[conda_name] == bound, f"{conda_name}: {conda[conda_name]!r} != pyproject {bound!r}"
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
