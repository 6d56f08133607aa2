"""The `petakota` command line."""

from gis.cli.main import app

__all__ = ["app"]
