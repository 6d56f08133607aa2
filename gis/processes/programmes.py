"""programme-status: target against realisation, late and at-risk programmes and spending against budget, per OPD,
per kecamatan or per programme, as of a date. What the caller sees follows gis/data/programme_scope.py: the public
sees public programmes without their notes; a key sees its cities' (a camat's key its kecamatan's)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from gis.analyses import programmes as rules
from gis.core.errors import NotFound
from gis.data.auth import ANONYMOUS, Principal
from gis.data.programme_frames import load_programme_data
from gis.processes.context import Context, city_entries
from gis.processes.inputs import IsoDate, ProcessInputs


class ProgrammeStatusInputs(ProcessInputs):
    year: int | None = Field(None, ge=2000, le=2100, title="Year (tahun anggaran)",
                             description="Only the programmes of this budget year. Default: every year")
    as_of: IsoDate | None = Field(None, title="As of",
                                  description="Statuses as on this date (YYYY-MM-DD): updates dated later are not "
                                              "counted. Default: today")
    group_by: Literal["opd", "kecamatan", "programme"] = Field(
        "opd", title="Group by",
        description="opd: a scorecard per agency (kodeskpd); kecamatan: per kecamatan, programmes lying in none "
                    "as city-wide; programme: one row per programme")
    programme: str | None = Field(None, min_length=1, max_length=120, title="Programme",
                                  description="One programme's kode (kabkota-tahun-kodeskpd-kodesubkegiatan): its "
                                              "status, indicators and progress history")
    lang: Literal["id", "en"] = Field("id", title="Language of the labels", description="id (default) or en")


def caller(ctx: Context) -> Principal:
    """The caller's rights: its key when the context carries it, else all or nothing as include_private says."""
    if ctx.who is not None:
        return ctx.who
    return Principal("service", "analyst") if ctx.include_private else ANONYMOUS


def status_report(data, as_of: date) -> rules.Statuses:
    return rules.programme_status(data.programmes, data.indicators, data.progress, data.parcels, data.centres, as_of,
                                  data.milestones)


def run_programme_status(ctx: Context, inputs: ProgrammeStatusInputs) -> dict:
    cities = ctx.cities(inputs.city)
    as_of = inputs.as_of or date.today()
    who = caller(ctx)
    with ctx.engine.connect() as conn:
        data = load_programme_data(conn, [c.code for c in cities], who, inputs.year, inputs.programme)
    statuses = status_report(data, as_of)
    out = {"as_of": as_of.isoformat(), "year": inputs.year, "group_by": inputs.group_by,
           "cities": city_entries(cities),
           "statuses": {k: {"label": rules.status_label(k, inputs.lang), "colour": rules.status_colour(k)}
                        for k in rules.STATUS_ORDER}}
    if inputs.programme is not None:
        if statuses.programmes.empty:
            raise NotFound(f"input 'programme': no programme {inputs.programme!r} that you may see in "
                           f"{', '.join(c.name for c in cities)} (see /collections/programmes)")
        private = bool(data.programmes["private"].iloc[0])
        return {**out, "programme": rules.programme_detail(statuses, data.progress, inputs.programme, inputs.lang,
                                                           private, data.milestones)}
    cards = rules.scorecards(statuses, data.locations, data.kecamatan, inputs.lang)
    out["overall"] = cards["overall"]
    if inputs.group_by == "programme":
        out["programmes"] = rules.programme_rows(statuses, inputs.lang)
    else:
        out[inputs.group_by] = cards[inputs.group_by]
    return out
