"""If-Match (RFC 9110 13.1.1) for feature writes: the ETags a client says it is changing."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from api.errors import PreconditionRequired
from gis.core.errors import InvalidInput
from gis.data.edits import Expected

# entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, one element of a comma-separated list (empty elements allowed).
_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')
_MAX_VERSION = 2**31 - 1  # versions are integers in the database; a larger tag cannot be one of them


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str) -> Expected:
    """`*`, or the strong ETags that may match. Weak validators never match for If-Match (strong comparison),
    nor do well-formed tags that are no version of ours; both stay in the request as a precondition that
    fails (412). A malformed field is InvalidInput."""
    value = value.strip()
    if value == "*":
        return Expected(any_version=True)
    versions, pos, seen = set(), 0, 0
    while pos < len(value):
        m = _ELEMENT.match(value, pos)
        if m is None or m.end() == pos:
            raise InvalidInput(f"If-Match must be * or a list of ETags as returned by GET (e.g. \"3\" or "
                               f"\"3\", \"4\"), got {value[:60]!r}")
        pos = m.end()
        weak, opaque = m.group(1), m.group(2)
        if opaque is None:
            continue
        seen += 1
        if not weak and opaque.isascii() and opaque.isdigit() and 0 < int(opaque) <= _MAX_VERSION:
            versions.add(int(opaque))
    if not seen:
        raise InvalidInput("If-Match is empty: send * or the feature's ETag as returned by GET (e.g. \"3\")")
    return Expected(frozenset(versions))


_HEADER_DOC = ("the ETag(s) of the version being changed, as returned by GET (e.g. \"3\"), or * for any version "
               "of an existing feature; weak validators (W/) never match")


def _if_match(request: Request, required: bool) -> Expected | None:
    values = request.headers.getlist("if-match")  # repeated fields are one comma-separated list
    if not values:
        if required:
            raise PreconditionRequired()
        return None
    return parse_if_match(", ".join(values))


def required_if_match(request: Request,
                      if_match: Annotated[str | None, Header(alias="If-Match", description=_HEADER_DOC)] = None
                      ) -> Expected:
    """The precondition of a write; 428 when missing."""
    return _if_match(request, required=True)


def optional_if_match(request: Request,
                      if_match: Annotated[str | None, Header(alias="If-Match", description=_HEADER_DOC)] = None
                      ) -> Expected | None:
    return _if_match(request, required=False)


IfMatch = Annotated[Expected, Depends(required_if_match)]
OptionalIfMatch = Annotated[Expected | None, Depends(optional_if_match)]
