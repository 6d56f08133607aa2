"""OGC CQL2 filters (text and JSON, OGC API - Features Part 3) -> a PostgreSQL/PostGIS WHERE fragment with bound
parameters. pygeofilter only parses; the AST is walked here, so identifiers come only from the queryables and
every literal is a bound parameter (`:cql0`, `:cql1`, ... in SQLAlchemy `text()` style)."""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime

import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as _parse_json
from pygeofilter.parsers.cql2_text import parse as _parse_text
from shapely.geometry import box, mapping, shape

from gis.core.errors import InvalidInput

MAX_LENGTH = 20_000
MAX_DEPTH = 50

_KINDS = dict(text="text", integer="number", bigint="number", number="number", boolean="boolean", date="date")
_TEMPORAL_KINDS = {"date", "timestamp"}
_GEOMETRY_NAMES = ("geometry", "geom")
_SPATIAL = {op: "ST_" + op.name.capitalize() for op in ast.SpatialComparisonOp}  # ST_Intersects, ST_Within, ...
# CQL2 temporal relations (OGC 21-065r2, 7.8) as conditions on [begin, end] of both sides; an instant is [t, t].
# (i, op, j) compares bound i of the left side with bound j of the right side. T_DISJOINT is NOT T_INTERSECTS.
_TEMPORAL = {
    "T_AFTER": [(0, ">", 1)], "T_BEFORE": [(1, "<", 0)], "T_MEETS": [(1, "=", 0)], "T_METBY": [(0, "=", 1)],
    "T_CONTAINS": [(0, "<", 0), (1, ">", 1)], "T_DURING": [(0, ">", 0), (1, "<", 1)],
    "T_EQUALS": [(0, "=", 0), (1, "=", 1)], "T_INTERSECTS": [(0, "<=", 1), (1, ">=", 0)],
    "T_FINISHEDBY": [(0, "<", 0), (1, "=", 1)], "T_FINISHES": [(0, ">", 0), (1, "=", 1)],
    "T_STARTEDBY": [(0, "=", 0), (1, ">", 1)], "T_STARTS": [(0, "=", 0), (1, "<", 1)],
    "T_OVERLAPPEDBY": [(0, ">", 0), (0, "<", 1), (1, ">", 1)], "T_OVERLAPS": [(0, "<", 0), (1, ">", 0), (1, "<", 1)],
    "T_DISJOINT": [],
}
_JSON_OPS = {op.lower(): op for op in (
    "and", "or", "not", "isNull", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "casei", "accenti",
    "+", "-", "*", "/", *(f"s_{op.name.lower()}" for op in _SPATIAL))}

# Private-use characters: _QQ stands for an escaped quote ('') that pygeofilter's grammar cannot lex; _MARK names
# the placeholders and temporal predicates substituted before parsing. Filters may not contain either.
_QQ, _MARK = "\ue000", "\ue001"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LEX = re.compile(
    r"(?P<str>'(?:[^']|'')*')"
    r'|(?P<ident>"[^"]*")'
    r"|(?<![\w.:])INTERVAL\s*\(\s*'(?P<t0>[^']*)'\s*,\s*'(?P<t1>[^']*)'\s*\)"
    rf"|(?<![\w.:])BBOX\s*\((?P<bbox>\s*{_NUM}(?:\s*,\s*{_NUM}){{3}}(?:(?:\s*,\s*{_NUM}){{2}})?\s*)\)"
    rf"|(?<![\w.:])(?P<tfunc>{'|'.join(_TEMPORAL)})(?![\w.:])(?P<call>\s*\()?"
    r"|(?<![\w.:])(?P<not>NOT\s*\()"
    r"|(?<![\w.:])(?P<or>OR)(?![\w.:])"
    r"|(?P<paren>[()])",
    re.IGNORECASE,
)
_NEWLINES = str.maketrans("\r\n\f\v", "    ")  # the grammar ignores only spaces and tabs

# ACCENTI without the unaccent extension: Latin letters with diacritics -> their base letter.
_ACCENTED = "".join(c for c in map(chr, range(0xC0, 0x250))
                    if (b := unicodedata.normalize("NFD", c)[0]) != c and b.isascii() and b.isalpha())
_UNACCENTED = "".join(unicodedata.normalize("NFD", c)[0] for c in _ACCENTED)


def to_sql(filter_: str | dict, lang: str, fields: Mapping[str, str], *, geom_column: str = "geom",
           filter_srid: int = 4326, swap_axes: bool = False, param_prefix: str = "cql") -> tuple[str, dict]:
    """Returns (sql_fragment, params). lang is 'cql2-text' or 'cql2-json' (a JSON string or a parsed dict).
    fields maps every queryable property -> its type ('text', 'integer', 'bigint', 'number', 'boolean', 'date');
    `geometry` and `geom` name geom_column. Geometry literals are in filter_srid (4326: lon/lat unless swap_axes,
    which flips them); literals with their own SRID (EWKT) are never flipped. Raises InvalidInput."""
    # Programming errors of the caller, not of the client:
    if not re.fullmatch(r"[A-Za-z_]\w*", param_prefix) or type(filter_srid) is not int or filter_srid <= 0:
        raise ValueError(f"bad param_prefix {param_prefix!r} or filter_srid {filter_srid!r}")
    if not set(fields.values()) <= set(_KINDS):
        raise ValueError(f"unknown field types in {dict(fields)}")
    if isinstance(filter_, str) and len(filter_) > MAX_LENGTH:
        raise InvalidInput(f"filter is longer than {MAX_LENGTH} characters")
    if lang == "cql2-text":
        if not isinstance(filter_, str):
            raise InvalidInput("a cql2-text filter must be a string")
        node, literals = _text(filter_)
    elif lang == "cql2-json":
        node, literals = _json(filter_), {}
    else:
        raise InvalidInput(f"unsupported filter-lang {lang!r}: use cql2-text or cql2-json")
    compiler = _Compiler(fields, geom_column, filter_srid, swap_axes, param_prefix, literals, lang == "cql2-text")
    return compiler.cond(node, 0), compiler.params


def _text(src: str):
    """Rewrites what pygeofilter 0.4's grammar gets wrong or lacks, then parses: OR binds as tightly as AND there,
    so OR operands are parenthesised; NOT (a AND b), '' quote escapes, CQL2 BBOX and INTERVAL literals (dates, '..'),
    function-form temporal predicates and newlines are not in its grammar. Error positions refer to `src`."""
    if _QQ in src or _MARK in src:
        raise InvalidInput("filter contains reserved characters (U+E000 or U+E001)")
    literals: dict = {}
    pieces = [[0, 0, ""]]  # [start, end, text]: src[start:end] becomes text
    groups = [[0, "", False]]  # open parentheses: [piece that becomes "(" if the group has an OR, closing text, has OR]
    for m in _LEX.finditer(src):
        if m["str"] is not None:
            new = "'" + m["str"][1:-1].replace("''", _QQ) + "'"
        elif m["ident"] is not None:
            continue
        elif m["t0"] is not None:
            new = _placeholder(literals, values.Interval(_instant(m["t0"]), _instant(m["t1"])))
        elif m["bbox"] is not None:
            n = [float(x) for x in m["bbox"].split(",")]
            h = len(n) // 2  # 4 or 6 numbers: [min x, min y, (min z,) max x, max y (, max z)]
            new = _placeholder(literals, values.Envelope(n[0], n[h], n[1], n[h + 1]))
        elif m["or"] is not None:
            pieces[groups[-1][0]][2], groups[-1][2], new = "(", True, ") OR ("
        elif m["paren"] == ")":
            if len(groups) == 1:
                continue  # unbalanced: the parser reports it
            _, close, has_or = groups.pop()
            new = (")" if has_or else "") + close
        else:
            if m["tfunc"] is not None:
                name = m["tfunc"].upper()
                if m["call"] is None:
                    raise InvalidInput(f"write {name} as a function: {name}(status_date, DATE('2024-01-01'))")
                # RELATE is the one pygeofilter predicate that carries a free string: our operator name
                new, close = "RELATE(", f", '{_MARK}{name}')"
            elif m["not"] is not None:
                new, close = f'("{_MARK}NOT" IS NULL AND (', "))"  # undone by _negated()
            else:
                new, close = "(", ")"
            _deeper(len(groups))
            pieces += [[m.start(), m.end(), new], [m.end(), m.end(), ""]]
            groups.append([len(pieces) - 1, close, False])
            continue
        pieces.append([m.start(), m.end(), new])
    if groups[0][2]:
        pieces.append([len(src), len(src), ")"])
    out, anchors, pos, plen = [], [], 0, 0  # anchors: (position in the parsed text, position in src)
    for start, end, text in pieces:
        out += [src[pos:start].translate(_NEWLINES), text]
        anchors.append((plen + start - pos, start))
        plen, pos = plen + start - pos + len(text), end
        anchors.append((plen, end))
    out.append(src[pos:].translate(_NEWLINES))
    try:
        return _parse_text("".join(out)), literals
    except Exception as e:
        p, end = getattr(e, "pos_in_stream", None), getattr(getattr(e, "token", None), "type", None) == "$END"
        if end or not isinstance(p, int) or p < 0:
            why = "unexpected end of filter" if end else str(e)[:200]
            raise InvalidInput(f"CQL2 text syntax error: {why}") from None
        i = bisect_right([a[0] for a in anchors], p) - 1
        p = min(anchors[i][1] + p - anchors[i][0], len(src))
        line, col = src.count("\n", 0, p) + 1, p - src.rfind("\n", 0, p)
        raise InvalidInput(f"CQL2 text syntax error at line {line}, column {col} near {src[p:p + 30]!r}") from None


def _placeholder(literals: dict, value) -> str:
    name = f"{_MARK}{len(literals)}"
    literals[name] = value
    return f'"{name}"'


def _instant(s: str) -> date | None:
    if s == "..":
        return None
    try:
        return date.fromisoformat(s) if len(s) == 10 else datetime.fromisoformat(s)
    except ValueError:
        raise InvalidInput(f"invalid INTERVAL bound {s!r}: use 'YYYY-MM-DD', an RFC 3339 timestamp or '..'") from None


def _json(filter_):
    if isinstance(filter_, str):
        try:
            filter_ = json.loads(filter_)
        except (ValueError, RecursionError) as e:
            raise InvalidInput(f"filter is not valid JSON: {str(e)[:200]}") from None
    node = _normalize(filter_, 0)
    if len(json.dumps(node)) > MAX_LENGTH:
        raise InvalidInput(f"filter is longer than {MAX_LENGTH} characters")
    return _parse_json_node(node)


def _parse_json_node(node):
    try:
        return _parse_json(node)
    except Exception as e:
        raise InvalidInput(f"invalid CQL2 JSON: {str(e)[:200]}") from None


def _normalize(node, depth: int):
    """Checks nesting and operators before pygeofilter recurses, and maps CQL2 1.0 JSON forms onto the draft
    forms pygeofilter 0.4 reads (3-argument between, bbox, accenti; temporal ops become marked functions so that
    t_intersects and t_overlaps, which pygeofilter conflates, stay apart)."""
    _deeper(depth // 2 - 2)  # {"op", "args": [...]} is two JSON levels; GeoJSON coordinates add up to four
    if isinstance(node, str) and (_QQ in node or _MARK in node):
        raise InvalidInput("filter contains reserved characters (U+E000 or U+E001)")
    if isinstance(node, list):
        return [_normalize(n, depth + 1) for n in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("bbox"), list) and "coordinates" not in node:  # a GeoJSON geometry may carry a bbox
        b = node["bbox"]
        if len(b) not in (4, 6) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in b):
            raise InvalidInput("bbox needs 4 or 6 numbers")
        h = len(b) // 2
        return mapping(box(b[0], b[1], b[h], b[h + 1]))
    if "op" not in node:
        return {k: _normalize(v, depth + 1) for k, v in node.items()}
    op = node["op"]
    name = op.upper() if isinstance(op, str) else ""
    if name not in _TEMPORAL and (not isinstance(op, str) or op.lower() not in _JSON_OPS):
        raise InvalidInput(f"unsupported operator {op!r}")
    args = node.get("args")
    if not isinstance(args, list):
        raise InvalidInput(f"operator {op!r} needs a list of args")
    args = _normalize(args, depth + 1)
    if name in _TEMPORAL:
        return {"function": {"name": _MARK + name, "arguments": args}}
    op = _JSON_OPS[op.lower()]
    if op == "between" and len(args) == 3:
        args = [args[0], args[1:]]
    if op == "accenti":
        return {"function": {"name": "accenti", "arguments": args}}
    return {"op": op, "args": args}


def _deeper(depth: int) -> int:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"filter is nested deeper than {MAX_DEPTH} levels")
    return depth + 1


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _negated(node):
    """The operand of a `NOT (...)` that _text rewrote as ("<mark>NOT" IS NULL AND (...)), else None."""
    if isinstance(node, ast.And) and isinstance(node.lhs, ast.IsNull) and not node.lhs.not_:
        if isinstance(node.lhs.lhs, ast.Attribute) and node.lhs.lhs.name == _MARK + "NOT":
            return node.rhs
    return None


def _op_name(node) -> str:
    name = getattr(getattr(node, "op", None), "name", None) or type(node).__name__.upper()
    return f"T_{name}" if isinstance(node, ast.TemporalPredicate) else name


class _Compiler:
    def __init__(self, fields, geom_column, srid, swap, prefix, literals, unescape):
        self.fields, self.geom, self.srid, self.swap = fields, geom_column, srid, swap
        self.prefix, self.literals, self.unescape = prefix, literals, unescape
        self.params: dict = {}

    def bind(self, value, sql_type: str | None = None) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {sql_type})" if sql_type else f":{name}"

    # -- conditions -------------------------------------------------------------------------------------------
    def cond(self, node, depth: int) -> str:
        d = _deeper(depth)
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        negated = _negated(node)
        if negated is not None:
            return f"(NOT {self.cond(negated, d)})"
        if isinstance(node, ast.And | ast.Or):  # flattened: long AND/OR chains must not count as nesting
            parts, stack = [], [node]
            while stack:
                n = stack.pop()
                if type(n) is type(node) and _negated(n) is None:
                    stack += [n.rhs, n.lhs]
                else:
                    parts.append(self.cond(n, d))
            return "(" + f" {node.op.value} ".join(parts) + ")"
        if isinstance(node, ast.Not):
            return f"(NOT {self.cond(node.sub_node, d)})"
        if isinstance(node, ast.Comparison):
            lhs, rhs = self.expr(node.lhs, d), self.expr(node.rhs, d)
            self.check(node.op.value, lhs, rhs)
            return f"({lhs[0]} {node.op.value} {rhs[0]})"
        if isinstance(node, ast.Like):
            lhs = self.expr(node.lhs, d)
            pattern = _parse_json_node(node.pattern) if isinstance(node.pattern, dict) else node.pattern
            rhs = self.expr(pattern, d)
            if lhs[1] != "text" or rhs[1] != "text":
                raise InvalidInput(f"LIKE needs text on both sides, got {lhs[2]} and {rhs[2]}")
            sql = f"({lhs[0]} {'ILIKE' if node.nocase else 'LIKE'} {rhs[0]})"
            return f"(NOT {sql})" if node.not_ else sql
        if isinstance(node, ast.Between):
            lhs, low, high = (self.expr(n, d) for n in (node.lhs, node.low, node.high))
            for bound in (low, high):
                self.check("BETWEEN", lhs, bound)
            return f"({lhs[0]} {'NOT ' if node.not_ else ''}BETWEEN {low[0]} AND {high[0]})"
        if isinstance(node, ast.In):
            lhs = self.expr(node.lhs, d)
            if not isinstance(node.sub_nodes, list):
                raise InvalidInput("IN needs a list of values")
            if not node.sub_nodes:
                return "TRUE" if node.not_ else "FALSE"
            items = [self.expr(n, d) for n in node.sub_nodes]
            for item in items:
                self.check("IN", lhs, item)
            return f"({lhs[0]} {'NOT ' if node.not_ else ''}IN ({', '.join(i[0] for i in items)}))"
        if isinstance(node, ast.IsNull):
            return f"({self.expr(node.lhs, d)[0]} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.Include):
            return "FALSE" if node.not_ else "TRUE"
        if isinstance(node, ast.SpatialComparisonPredicate):
            op = f"S_{node.op.name}"
            return f"{_SPATIAL[node.op]}({self.geometry(node.lhs, op, d)}, {self.geometry(node.rhs, op, d)})"
        if isinstance(node, ast.BBox):
            srid, swap = (self.srid, self.swap) if node.crs is None else (_srid(node.crs), False)
            env = self.geom_sql(box(node.minx, node.miny, node.maxx, node.maxy), srid, swap)
            return f"ST_Intersects({self.geometry(node.lhs, 'BBOX', d)}, {env})"
        if isinstance(node, ast.Relate) and node.pattern.startswith(_MARK):
            return self.temporal(node.pattern[1:], [node.lhs, node.rhs], d)
        if isinstance(node, ast.Function) and str(node.name).startswith(_MARK):
            return self.temporal(node.name[1:], node.arguments, d)
        if isinstance(node, ast.Node) and not isinstance(node, ast.Expression):
            raise InvalidInput(f"unsupported operator {_op_name(node)}")
        raise InvalidInput("the filter must be a condition (e.g. nama = 'x'), not a value")

    def check(self, op: str, a, b) -> None:
        if "geometry" in (a[1], b[1]):
            raise InvalidInput(f"'{op}' cannot compare geometries: use S_EQUALS, S_INTERSECTS, ...")
        if a[1] != b[1] and not {a[1], b[1]} <= _TEMPORAL_KINDS:
            raise InvalidInput(f"'{op}': cannot compare {a[2]} with {b[2]}")

    def geometry(self, node, op: str, depth: int) -> str:
        sql, kind, desc = self.expr(node, depth)
        if kind != "geometry":
            raise InvalidInput(f"{op} needs geometries, got {desc}")
        return sql

    def temporal(self, name: str, args: list, depth: int) -> str:
        if not isinstance(args, list) or len(args) != 2:
            raise InvalidInput(f"{name} needs 2 arguments")
        if name == "T_DISJOINT":
            return f"(NOT {self.temporal('T_INTERSECTS', args, depth)})"
        a, b = (self.bounds(n, name, depth) for n in args)
        return "(" + " AND ".join(f"{a[i]} {op} {b[j]}" for i, op, j in _TEMPORAL[name]) + ")"

    def bounds(self, node, op: str, depth: int) -> tuple[str, str]:
        """[begin, end] of a temporal argument; open interval ends are -infinity / infinity."""
        node = self.literals.get(str(node.name), node) if isinstance(node, ast.Attribute) else node
        if isinstance(node, values.Interval):
            ends = [node.start, node.end]
            if not all(v is None or isinstance(v, date) for v in ends):
                raise InvalidInput(f"{op}: interval bounds must be dates, timestamps or '..' (no durations)")
            typ = "timestamptz" if any(isinstance(v, datetime) for v in ends) else "date"
            return (self.bind(ends[0].isoformat() if ends[0] else "-infinity", typ),
                    self.bind(ends[1].isoformat() if ends[1] else "infinity", typ))
        sql, kind, desc = self.expr(node, depth)
        if kind not in _TEMPORAL_KINDS:
            raise InvalidInput(f"{op} needs dates, timestamps or intervals, got {desc}")
        return sql, sql

    # -- values: (sql, kind, description) ---------------------------------------------------------------------
    def expr(self, node, depth: int) -> tuple[str, str, str]:
        d = _deeper(depth)
        if isinstance(node, ast.Attribute):
            return self.attribute(str(node.name))
        if isinstance(node, bool):
            return self.bind(node, "boolean"), "boolean", f"boolean {node}"
        if isinstance(node, int | float):
            if isinstance(node, int) and not -(2**63) <= node < 2**63:
                raise InvalidInput(f"number {node} is out of range")
            typ = "bigint" if isinstance(node, int) else "double precision"
            return self.bind(node, typ), "number", f"number {node}"
        if isinstance(node, str):
            s = node.replace(_QQ, "'") if self.unescape else node
            return self.bind(s, "text"), "text", f"text {s[:60]!r}"
        if isinstance(node, date):  # bound as ISO text: 'infinity' bounds of intervals are bound the same way
            kind, typ = ("timestamp", "timestamptz") if isinstance(node, datetime) else ("date", "date")
            return self.bind(node.isoformat(), typ), kind, f"{kind.upper()}('{node.isoformat()}')"
        if isinstance(node, values.Envelope):
            geom = box(min(node.x1, node.x2), min(node.y1, node.y2), max(node.x1, node.x2), max(node.y1, node.y2))
            return self.geom_sql(geom, self.srid, self.swap), "geometry", "a BBOX"
        if isinstance(node, values.Geometry):
            try:
                geom = shape(node.geometry)
            except Exception as e:
                raise InvalidInput(f"invalid geometry literal: {str(e)[:200]}") from None
            crs = node.geometry.get("crs")  # EWKT SRID=...; arrives as a GeoJSON crs member
            srid, swap = (_srid(crs), False) if crs else (self.srid, self.swap)
            return self.geom_sql(geom, srid, swap), "geometry", "a geometry"
        if isinstance(node, values.Interval):
            raise InvalidInput("an INTERVAL can only be used in temporal predicates (T_DURING, ...)")
        if isinstance(node, ast.Function):
            name = {"lower": "CASEI"}.get(str(node.name).lower(), str(node.name).lstrip(_MARK).upper())
            if name not in ("CASEI", "ACCENTI"):
                raise InvalidInput(f"unsupported function {name[:60]}")
            if not isinstance(node.arguments, list) or len(node.arguments) != 1:
                raise InvalidInput(f"{name} takes one argument")
            sql, kind, desc = self.expr(node.arguments[0], d)
            if kind != "text":
                raise InvalidInput(f"{name} needs text, got {desc}")
            if name == "CASEI":
                return f"lower({sql})", "text", f"CASEI({desc})"
            return f"translate({sql}, {self.bind(_ACCENTED)}, {self.bind(_UNACCENTED)})", "text", f"ACCENTI({desc})"
        if isinstance(node, ast.Arithmetic):
            lhs, rhs = self.expr(node.lhs, d), self.expr(node.rhs, d)
            for side in (lhs, rhs):
                if side[1] != "number":
                    raise InvalidInput(f"'{node.op.value}' needs numbers, got {side[2]}")
            if isinstance(node, ast.Div):  # CQL2 '/' is not integer division; x / 0 is NULL, not an error
                return f"(CAST({lhs[0]} AS double precision) / NULLIF({rhs[0]}, 0))", "number", "a quotient"
            return f"({lhs[0]} {node.op.value} {rhs[0]})", "number", "an arithmetic expression"
        if isinstance(node, ast.Node):
            raise InvalidInput(f"unsupported operator {_op_name(node)} where a value was expected")
        raise InvalidInput(f"unsupported value {str(node)[:60]!r}")

    def attribute(self, name: str) -> tuple[str, str, str]:
        if name in self.literals:
            value = self.literals[name]
            if isinstance(value, values.Interval):
                raise InvalidInput("an INTERVAL can only be used in temporal predicates (T_DURING, ...)")
            return self.expr(value, 0)
        if name in _GEOMETRY_NAMES:
            return _quote(self.geom), "geometry", f"property {name!r}"
        if name not in self.fields:
            queryables = ", ".join([*sorted(self.fields), "geometry"])
            raise InvalidInput(f"unknown property {name[:100]!r}; queryables: {queryables}")
        return _quote(name), _KINDS[self.fields[name]], f"property {name!r} ({self.fields[name]})"

    def geom_sql(self, geom, srid: int, swap: bool) -> str:
        if not geom.is_valid:
            raise InvalidInput(f"invalid geometry literal: {shapely.is_valid_reason(geom)}")
        sql = f"ST_GeomFromText({self.bind(shapely.force_2d(geom).wkt)}, {int(srid)})"
        if swap:
            sql = f"ST_FlipCoordinates({sql})"
        return f"ST_Transform({sql}, 4326)" if srid != 4326 else sql


def _srid(crs) -> int:
    """SRID of an EPSG CRS name (EPSG:32647, urn:ogc:def:crs:EPSG::32647, .../def/crs/EPSG/0/32647) or CRS84,
    also inside a GeoJSON crs member."""
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        crs = crs["properties"].get("name")
    if isinstance(crs, str):
        if re.search(r"CRS:?84$", crs, re.IGNORECASE):
            return 4326
        m = re.search(r"EPSG(?::+|/0/)(\d{1,6})$", crs, re.IGNORECASE)
        if m:
            return int(m[1])
    raise InvalidInput(f"unsupported CRS {str(crs)[:100]!r}: use EPSG:<code> or CRS84")
