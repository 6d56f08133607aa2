"""The `petakota` command run in this process (typer's CliRunner on `gis.cli.main.app`), answering like
`subprocess.run(..., capture_output=True, text=True)`: for tests about a command's message and exit code,
where starting a new Python that imports everything costs seconds per call. Each command family keeps at
least one test that runs the real `python -m gis` entrypoint in a subprocess."""

from __future__ import annotations

import subprocess
import traceback

from typer.testing import CliRunner

from gis.cli.main import app


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """`petakota ARGS` in-process with `env` set for the call; stdout and stderr apart. An exception that
    escapes the command is written to stderr as the traceback a real process would print."""
    result = CliRunner().invoke(app, list(args), env=env, input=input)
    stderr = result.stderr
    if result.exc_info and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["petakota", *args], result.exit_code, result.stdout, stderr)
