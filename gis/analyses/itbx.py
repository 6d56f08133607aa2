"""The ITBX verdict of an activity in a sub-zone, as the RDTR's zoning regulation gives it: by KBLI 2020 code
(falling back to its 4-, 3- then 2-digit group) or by activity name, never guessed. Also the special-provision
flags (ketentuan khusus) a zone carries."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from gis.core.errors import InvalidInput
from layers.rdtr import OVERLAYS, column

VERDICTS = ("I", "T", "B", "X")
UNREGULATED = "unregulated"
# Most restrictive first: X > unregulated (needs an assessment before anything is built) > B > T > I.
SEVERITY = {"X": 4, UNREGULATED: 3, "B": 2, "T": 1, "I": 0}
VERDICT_TEXT = {
    "I": ("diizinkan", "permitted"),
    "T": ("diizinkan terbatas", "permitted with limits"),
    "B": ("bersyarat (perlu izin pemanfaatan bersyarat)", "conditional (needs a conditional-use permit)"),
    "X": ("tidak diizinkan", "not permitted"),
    UNREGULATED: ("tidak diatur: perlu kajian", "not regulated: needs assessment"),
}
SIGNIFICANT_SHARE = 0.05  # zones covering less of a site do not decide its verdict (slivers of a drawn edge)
_KBLI = re.compile(r"^\d{2,5}$")
_FLAG_OFF = {"", "0", "tidak", "no", "false", "none", "nan"}


def _text(value) -> str | None:
    """A cell as stripped text, None when empty or missing (NaN from pandas)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def check_query(itbx: pd.DataFrame, kbli, activity) -> tuple[str | None, str | None]:
    """The KBLI code or activity asked about, checked: exactly one of them, a KBLI of 2-5 digits, an activity
    the table knows."""
    if (kbli is None) == (activity is None):
        raise InvalidInput("give exactly one of 'kbli' (a KBLI 2020 code, e.g. '10750') or 'activity' "
                           "(an activity name of the ITBX table)")
    missing = {"kodszn", "kbli", "kegiatan", "ketentuan", "syarat"} - set(itbx.columns)
    if missing:
        raise InvalidInput(f"the ITBX table lacks the column(s) {', '.join(sorted(missing))}")
    if kbli is not None:
        if not isinstance(kbli, str):
            raise InvalidInput(f"kbli must be given as text, e.g. '01111' or '10750' (got {kbli!r}): a number "
                               "loses the leading zero of the agriculture codes")
        code = kbli.strip()
        if not _KBLI.match(code):
            raise InvalidInput(f"kbli {kbli!r} is not a KBLI 2020 code: give 2 to 5 digits, e.g. '10750' "
                               "(a 5-digit code) or '107' (its group)")
        return code, None
    wanted = str(activity).strip().casefold()
    known = sorted({t for t in (_text(v) for v in itbx["kegiatan"]) if t})
    if not wanted or wanted not in {k.casefold() for k in known}:
        sample = ", ".join(repr(k) for k in known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        raise InvalidInput(f"unknown activity {activity!r}: the ITBX table names {sample or 'no activity'}; "
                           "or ask by KBLI code ('kbli')")
    return None, wanted


def _candidates(itbx: pd.DataFrame, kbli: str | None, activity: str | None) -> pd.DataFrame:
    """The rows that may answer the query, with `_zone` (normalised KODSZN) and `_rank` (digits of KBLI matched:
    the longest match wins; 0 for an activity match)."""
    if kbli is not None:
        codes = [_text(v) for v in itbx["kbli"]]
        ranks = pd.Series([len(c) if c and len(c) >= 2 and kbli.startswith(c) else -1 for c in codes],
                          index=itbx.index)
    else:
        names = [(_text(v) or "").casefold() for v in itbx["kegiatan"]]
        ranks = pd.Series([0 if n == activity else -1 for n in names], index=itbx.index)
    rows = itbx[ranks >= 0].copy()
    rows["_rank"] = ranks[ranks >= 0]
    rows["_zone"] = rows["kodszn"].map(lambda v: (_text(v) or "").upper())
    return rows


def _pick(rows: pd.DataFrame, kodszn, kbli: str | None) -> dict | None:
    """The rule of one sub-zone among the candidate rows: the most specific KBLI match; among equally specific
    rows (a table that repeats itself) the most restrictive, so a conflict never loosens a verdict."""
    zone_rows = rows[rows["_zone"] == (_text(kodszn) or "").upper()]
    if zone_rows.empty:
        return None
    best = zone_rows[zone_rows["_rank"] == zone_rows["_rank"].max()]
    row = max(best.to_dict("records"), key=lambda r: SEVERITY.get(_ketentuan(r), -1))
    if kbli is None:
        matched = "activity"
    else:
        matched = "kbli" if row["_rank"] == len(kbli) else "kbli_group"
    return {"ketentuan": _ketentuan(row), "syarat": _text(row["syarat"]), "kbli": _text(row["kbli"]),
            "kegiatan": _text(row["kegiatan"]), "matched": matched}


def _ketentuan(row: dict) -> str:
    value = (_text(row.get("ketentuan")) or "").upper()
    if value not in VERDICTS:
        raise InvalidInput(f"ITBX row for sub-zone {row.get('kodszn')!r} has ketentuan {row.get('ketentuan')!r}: "
                           "it must be one of I, T, B, X")
    return value


def rule_for(itbx: pd.DataFrame, kodszn, *, kbli: str | None = None, activity: str | None = None) -> dict | None:
    """The ITBX rule of KBLI `kbli` (or `activity`) in sub-zone `kodszn`: {"ketentuan", "syarat", "kbli" (the
    code of the row matched, e.g. "1075" for 10750 answered by its group), "kegiatan", "matched": "kbli" |
    "kbli_group" | "activity"}; None when no row applies (the verdict is then "unregulated")."""
    kbli, activity = check_query(itbx, kbli, activity)
    return _pick(_candidates(itbx, kbli, activity), kodszn, kbli)


def rules_for(itbx: pd.DataFrame, codes: Iterable, *, kbli: str | None = None,
              activity: str | None = None) -> dict:
    """rule_for for several sub-zones at once (the table is read once): code -> rule or None."""
    kbli, activity = check_query(itbx, kbli, activity)
    rows = _candidates(itbx, kbli, activity)
    return {code: _pick(rows, code, kbli) for code in dict.fromkeys(codes)}


def verdict_of(rule: dict | None) -> str:
    """"I", "T", "B", "X", or "unregulated" when no rule applies."""
    return UNREGULATED if rule is None else rule["ketentuan"]


def most_restrictive(verdicts: Iterable[str]) -> str:
    """The strictest of the verdicts: X > unregulated > B > T > I."""
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("no verdict to choose from")
    return max(verdicts, key=SEVERITY.__getitem__)


def zone_verdicts(itbx: pd.DataFrame, codes: Iterable, *, kbli: str | None = None,
                  activity: str | None = None) -> dict:
    """Sub-zone code -> verdict of the activity there."""
    return {code: verdict_of(rule) for code, rule in rules_for(itbx, codes, kbli=kbli, activity=activity).items()}


def rule_text(query_kbli: str | None, activity: str | None, rule: dict | None, lang: str) -> str:
    """Which rule answered, in words: "KBLI 10750 via group 1075", "KBLI 10750", "kegiatan 'taman'"."""
    if rule is None:
        return "tanpa baris ITBX" if lang == "id" else "no ITBX row"
    if rule["matched"] == "kbli_group":
        return f"KBLI {query_kbli} " + (f"melalui kelompok {rule['kbli']}" if lang == "id"
                                          else f"via group {rule['kbli']}")
    if rule["matched"] == "kbli":
        return f"KBLI {rule['kbli']}"
    return ("kegiatan" if lang == "id" else "activity") + f" '{rule['kegiatan'] or activity}'"


def flagged(value) -> bool:
    """Whether an overlay flag column's value marks the provision: a non-empty value other than "0", "tidak",
    "no", "false" (the value is often the provision's class, e.g. "Rawan banjir")."""
    if value is None or value is False or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0
    return str(value).strip().casefold() not in _FLAG_OFF


def flag_columns(zoning: pd.DataFrame) -> dict[str, str]:
    """Overlay code -> its flag column, for the flag columns the zones carry."""
    return {code: column(code) for code in OVERLAYS if column(code) in zoning.columns}
