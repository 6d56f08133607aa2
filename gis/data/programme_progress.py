"""Writing programmes: a progress update reported by an OPD (kept as a row, and the indicator's and programme's
current realisation following the latest update), a change of a programme's editable fields under If-Match,
and a programme's history (itself, its indicators and its updates).

Who may write is `programme_scope.may_edit`; who reads what is `programme_scope` too. Every write runs in one
transaction under the caller's name (`edits.set_actor`), so `feature_history` says who did it. Problems are
said in Bahasa Indonesia and English ("... / ..."): OPD staff read them."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, Engine, text

from gis.core.errors import Forbidden, InvalidInput, NotFound, VersionConflict
from gis.data.auth import Principal
from gis.data.edits import Expected, set_actor
from gis.data.programme_scope import may_edit, private_rows_sql, visible_rows_sql
from layers.programmes import PROGRAMME_INDICATORS, PROGRAMME_PROGRESS, PROGRAMMES, PROGRESS_STATUSES

PROGRESS_KEYS = {"tanggal", "indicator_id", "indicator", "periode", "wilayah_kode", "realisasi", "realisasi_rp",
                 "status", "catatan"}
EDITABLE = {"publik": "boolean", "catatan": "text", "tanggal_mulai": "date", "tanggal_selesai": "date",
            "pagu_rp": "bigint", "nama_skpd": "name", "nama_program": "name", "nama_kegiatan": "name",
            "nama_subkegiatan": "name"}
MAX_NOTE = 4000


def _bad(id_: str, en: str) -> InvalidInput:
    return InvalidInput(f"{id_} / {en}")


def holder_name(who: Principal) -> str:
    """The key's holder without the role the Principal's name carries ("Dinas PUPR (planner)" -> "Dinas PUPR")."""
    suffix = f" ({who.role})"
    return who.name[:-len(suffix)] if who.name.endswith(suffix) else who.name


def _require_object(body) -> dict:
    if not isinstance(body, dict):
        raise _bad("isi permintaan harus objek JSON", "the body must be a JSON object")
    return body


def _date(value, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _bad(f"{name} harus tanggal YYYY-MM-DD, bukan {str(value)[:30]!r}",
               f"{name} must be a date YYYY-MM-DD, not {str(value)[:30]!r}")


def _number(value, name: str, integer: bool = False):
    if value is None:
        return None
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or value != value or value in (float("inf"), float("-inf")):
        kind_id, kind_en = ("bilangan bulat", "a whole number") if integer else ("angka", "a number")
        raise _bad(f"{name} harus {kind_id}", f"{name} must be {kind_en}")
    if value < 0:
        raise _bad(f"{name} tidak boleh negatif", f"{name} may not be negative")
    if integer and value > 2**63 - 1:
        raise _bad(f"{name} terlalu besar", f"{name} is too large")
    return value


def _text(value, name: str, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"{name} harus teks{' yang tidak kosong' if required else ''}",
                   f"{name} must be {'non-empty ' if required else ''}text")
    if len(value) > MAX_NOTE or "\x00" in value:
        raise _bad(f"{name} terlalu panjang atau berisi karakter NUL",
                   f"{name} is longer than {MAX_NOTE} characters or holds a NUL character")
    return value.strip() if required else value


def _programme(conn: Connection, kode: str, lock: bool = False) -> dict:
    row = conn.execute(text(f"SELECT * FROM programmes WHERE kode = :k{' FOR UPDATE' if lock else ''}"),
                       {"k": kode}).mappings().first()
    if row is None:
        raise NotFound(f"tidak ada program {kode[:80]!r} / no programme {kode[:80]!r}")
    return dict(row)


def _editable(conn: Connection, who: Principal, kode: str, lock: bool) -> dict:
    programme = _programme(conn, kode, lock)
    reason = may_edit(who, programme)
    if reason:
        raise Forbidden(f"kunci ini tidak boleh mengubah program {kode} / {reason}")
    return programme


def _indicator(conn: Connection, programme: dict, body: dict) -> dict | None:
    """The indicator the update reports on (by id, or by kode + periode [+ wilayah_kode]); None: the programme
    as a whole."""
    if body.get("indicator_id") is not None:
        if isinstance(body["indicator_id"], bool) or not isinstance(body["indicator_id"], int):
            raise _bad("indicator_id harus bilangan bulat", "indicator_id must be a whole number")
        row = conn.execute(text("SELECT * FROM programme_indicators WHERE id = :i AND programme_kode = :p"),
                           {"i": body["indicator_id"], "p": programme["kode"]}).mappings().first()
        if row is None:
            raise _bad(f"indikator {body['indicator_id']} bukan milik program {programme['kode']}",
                       f"indicator {body['indicator_id']} is not one of programme {programme['kode']}'s")
        return dict(row)
    if body.get("indicator") is None:
        if body.get("periode") is not None:
            raise _bad("periode perlu indicator (kode indikator)", "periode needs indicator (the indicator code)")
        return None
    kode = _text(body["indicator"], "indicator", required=True)
    periode = _text(body.get("periode"), "periode", required=True)
    rows = conn.execute(text(
        "SELECT * FROM programme_indicators WHERE programme_kode = :p AND kode = :k AND periode = :per "
        "AND (CAST(:w AS text) IS NULL OR wilayah_kode = :w) ORDER BY id"),
        {"p": programme["kode"], "k": kode, "per": periode,
         "w": _text(body.get("wilayah_kode"), "wilayah_kode")}).mappings().all()
    if not rows:
        raise _bad(f"program {programme['kode']} tidak punya indikator {kode!r} periode {periode!r}",
                   f"programme {programme['kode']} has no indicator {kode!r} for period {periode!r}")
    if len(rows) > 1:
        raise _bad("indikator ini punya beberapa wilayah: sebutkan wilayah_kode atau indicator_id",
                   "this indicator has several areas: name wilayah_kode or indicator_id")
    return dict(rows[0])


def _check_progress(programme: dict, body: dict, today: date) -> dict:
    unknown = sorted(set(body) - PROGRESS_KEYS)
    if unknown:
        raise _bad(f"kolom tidak dikenal: {', '.join(unknown)[:200]}",
                   f"unknown members: {', '.join(unknown)[:200]}; send {', '.join(sorted(PROGRESS_KEYS))}")
    tanggal = _date(body.get("tanggal"), "tanggal")
    if tanggal is None:
        raise _bad("tanggal wajib diisi (YYYY-MM-DD)", "tanggal (the date, YYYY-MM-DD) is required")
    if tanggal > today + timedelta(days=1):
        raise _bad(f"tanggal {tanggal} ada di masa depan", f"the date {tanggal} is in the future")
    if tanggal < date(programme["tahun"], 1, 1):
        raise _bad(f"tanggal {tanggal} sebelum tahun program ({programme['tahun']})",
                   f"the date {tanggal} is before the programme's year ({programme['tahun']})")
    status = body.get("status")
    if status not in PROGRESS_STATUSES:
        raise _bad(f"status harus salah satu dari {', '.join(PROGRESS_STATUSES)}",
                   f"status must be one of {', '.join(PROGRESS_STATUSES)}, not {str(status)[:30]!r}")
    return {"tanggal": tanggal, "status": status, "realisasi": _number(body.get("realisasi"), "realisasi"),
            "realisasi_rp": _number(body.get("realisasi_rp"), "realisasi_rp", integer=True),
            "catatan": _text(body.get("catatan"), "catatan")}


def report_progress(engine: Engine, kode: str, body, who: Principal, today: date | None = None) -> dict:
    """Record a progress update of programme `kode` (cumulative realisation and spending) by the key's holder,
    and bring the indicator's `realisasi` and the programme's `realisasi_rp` to the latest update's, in one
    transaction. Returns the stored update."""
    body = _require_object(body)
    today = today or date.today()
    with engine.begin() as conn:
        set_actor(conn, who.name)
        programme = _editable(conn, who, kode, lock=True)
        values = _check_progress(programme, body, today)
        indicator = _indicator(conn, programme, body)
        if values["realisasi"] is not None and indicator is None:
            raise _bad("realisasi perlu indikator (indicator_id, atau indicator + periode)",
                       "realisasi needs an indicator (indicator_id, or indicator + periode)")
        row = conn.execute(text(
            "INSERT INTO programme_progress (programme_kode, indicator_id, tanggal, realisasi, realisasi_rp, status, "
            "catatan, oleh) VALUES (:p, :i, :tanggal, :realisasi, :realisasi_rp, :status, :catatan, :oleh) "
            "RETURNING *"),
            {**values, "p": kode, "i": indicator["id"] if indicator else None,
             "oleh": holder_name(who)}).mappings().one()
        if indicator is not None and values["realisasi"] is not None:
            # the latest update by date wins: a late report of an earlier date does not undo a newer one
            conn.execute(text(
                "UPDATE programme_indicators i SET realisasi = latest.realisasi FROM (SELECT realisasi FROM "
                "programme_progress WHERE indicator_id = :i AND realisasi IS NOT NULL ORDER BY tanggal DESC, id DESC "
                "LIMIT 1) latest WHERE i.id = :i AND i.realisasi IS DISTINCT FROM latest.realisasi"),
                {"i": indicator["id"]})
        if values["realisasi_rp"] is not None:
            conn.execute(text(
                "UPDATE programmes p SET realisasi_rp = latest.realisasi_rp FROM (SELECT realisasi_rp FROM "
                "programme_progress WHERE programme_kode = :p AND realisasi_rp IS NOT NULL "
                "ORDER BY tanggal DESC, id DESC LIMIT 1) latest "
                "WHERE p.kode = :p AND p.realisasi_rp IS DISTINCT FROM latest.realisasi_rp"), {"p": kode})
    return _jsonable(dict(row))


def _checked_change(programme: dict, patch: dict) -> dict:
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise _bad(f"kolom ini tidak dapat diubah di sini: {', '.join(unknown)[:200]}",
                   f"these fields cannot be changed here: {', '.join(unknown)[:200]}; editable: "
                   f"{', '.join(EDITABLE)}")
    if not patch:
        raise _bad("tidak ada yang diubah", f"nothing to change: send one of {', '.join(EDITABLE)}")
    out = {}
    for name, value in patch.items():
        kind = EDITABLE[name]
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _bad(f"{name} harus true atau false", f"{name} must be true or false")
            out[name] = value
        elif kind == "date":
            out[name] = _date(value, name)
        elif kind == "bigint":
            out[name] = _number(value, name, integer=True)
        else:
            out[name] = _text(value, name, required=kind == "name")
    start = out.get("tanggal_mulai", programme["tanggal_mulai"])
    end = out.get("tanggal_selesai", programme["tanggal_selesai"])
    if start and end and end < start:
        raise _bad(f"tanggal_selesai {end} sebelum tanggal_mulai {start}",
                   f"the end date {end} is before the start date {start}")
    return out


def change_programme(engine: Engine, kode: str, patch, expected: Expected, who: Principal) -> dict:
    """Change a programme's editable fields (a JSON merge patch) if its version is still an expected one;
    returns the programme as stored."""
    patch = _require_object(patch)
    with engine.begin() as conn:
        set_actor(conn, who.name)
        programme = _editable(conn, who, kode, lock=True)  # locked: concurrent changes queue here
        values = _checked_change(programme, patch)
        if not expected.any_version and programme["version"] not in expected.versions:
            raise VersionConflict(
                f"program {kode} sudah berubah (versi {programme['version']}) / programme {kode} is at version "
                f"{programme['version']} (ETag \"{programme['version']}\"), If-Match named {expected.describe()}: "
                "fetch it again and reapply your change")
        sets = ", ".join(f"{name} = :{name}" for name in values)
        row = conn.execute(text(f"UPDATE programmes SET {sets} WHERE kode = :kode RETURNING *"),
                           {**values, "kode": kode}).mappings().one()
    return _jsonable(dict(row))


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def programme_for(conn: Connection, kode: str, who: Principal) -> tuple[dict, bool]:
    """The programme if the caller sees it (else NotFound) and whether it reads its private fields."""
    visible, params = visible_rows_sql(who, "p")
    private, _ = private_rows_sql(who, "p")
    row = conn.execute(text(f"SELECT p.*, coalesce({private}, false) AS _private FROM programmes p "
                            f"WHERE p.kode = :kode AND {visible}"), {**params, "kode": kode}).mappings().first()
    if row is None:
        raise NotFound(f"tidak ada program {kode[:80]!r} / no programme {kode[:80]!r}")
    row = dict(row)
    return row, row.pop("_private")


_PRIVATE = {t.id: {f.name for f in t.fields if not f.public} for t in (PROGRAMMES, PROGRAMME_INDICATORS,
                                                                        PROGRAMME_PROGRESS)}


def history(engine: Engine, kode: str, who: Principal) -> list[dict]:
    """Every recorded change of programme `kode`, its indicators and its progress updates, oldest first; who
    made them and the private values only for callers who read the programme's private fields."""
    with engine.connect() as conn:
        programme, private = programme_for(conn, kode, who)
        rows = conn.execute(text(
            "SELECT layer, feature_id, version, action, actor, at, before, after FROM feature_history "
            "WHERE (layer = 'programmes' AND feature_id = :pid) OR (layer IN ('programme_indicators', "
            "'programme_progress') AND coalesce(after, before)->>'programme_kode' = :kode) ORDER BY id"),
            {"pid": programme["id"], "kode": kode}).mappings().all()
    out = []
    for r in rows:
        hidden = set() if private else _PRIVATE[r["layer"]]
        entry = {"collection": r["layer"], "id": r["feature_id"], "version": r["version"], "action": r["action"],
                 "at": r["at"].isoformat(), "actor": r["actor"] if private else None}
        for side in ("before", "after"):
            snap = r[side]
            entry[side] = {k: v for k, v in snap.items() if k not in hidden} if snap else None
        out.append(entry)
    return out
