"""The programme dashboard as a PDF (matplotlib, A4 landscape): the scorecards per OPD and per kecamatan, the map
of programme locations coloured by status, the programme list; the city, year, as_of date, when it was made and
the illustrative-data notice on every page. The same figures as /dashboard/data, as the caller's key sees them."""

from __future__ import annotations

import io
from datetime import date, datetime

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from shapely.geometry import shape  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from gis.analyses import programmes as rules  # noqa: E402
from gis.core.language import format_date, format_number  # noqa: E402
from gis.core.settings import Settings  # noqa: E402
from gis.data.auth import Principal  # noqa: E402
from gis.data.cities import City  # noqa: E402
from gis.render.dashboard import dashboard_city, dashboard_data  # noqa: E402
from gis.render.dashboard_messages import dashboard_message  # noqa: E402

A4_LANDSCAPE = (11.69, 8.27)
ROWS_PER_PAGE = 28


def _money(value, lang: str) -> str:
    return "\u2014" if value is None else format_number(float(value), lang, decimals=0)


def _share(value, lang: str) -> str:
    return "\u2014" if value is None else f"{format_number(value * 100, lang, decimals=1)} %"


def _page(pdf: PdfPages, data: dict, heading: str, lang: str):
    fig = plt.figure(figsize=A4_LANDSCAPE)
    t = lambda key: dashboard_message(key, lang)  # noqa: E731
    fig.text(0.04, 0.955, f"{t('title')} \u2014 {data['city']['name']}", fontsize=15, weight="bold")
    year = data["year"] if data["year"] is not None else "\u2014"
    fig.text(0.04, 0.925, f"{t('year')} {year} \u00b7 {t('as_of')} {format_date(data['as_of'], lang)} \u00b7 "
                          f"{t('generated')} {format_date(date.today(), lang)} {datetime.now():%H:%M}", fontsize=9)
    fig.text(0.04, 0.9, heading, fontsize=12, weight="bold")
    view = t("public_view") if data["public"] else t("key_view")
    fig.text(0.04, 0.025, f"{t('illustrative')} {view}.", fontsize=8, style="italic", color="#444444")
    return fig


def _table(fig, columns: list[str], rows: list[list[str]], first_width: float = 0.22, top: float = 0.87) -> None:
    """A table filling the page's width: the first column `first_width` of it, the others sharing the rest; the
    headers wrap at spaces so that every column fits on the page."""
    ax = fig.add_axes([0.04, 0.06, 0.92, top - 0.06])
    ax.axis("off")
    if not rows:
        ax.text(0, 1, "\u2014", va="top")
        return
    rest = (1 - first_width) / (len(columns) - 1)
    table = ax.table(cellText=rows, colLabels=[c.replace(" ", "\n") for c in columns], loc="upper left",
                     cellLoc="right", colLoc="center", colWidths=[first_width] + [rest] * (len(columns) - 1))
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (r, c), cell in table.get_celld().items():
        cell.set_height(0.075 if r == 0 else 0.028)
        if r == 0:
            cell.set_facecolor("#E7ECF2")
            cell.set_text_props(weight="bold")
        if c == 0:
            cell.set_text_props(ha="left")
            cell.PAD = 0.02


def _card_rows(cards: list[dict], name, lang: str) -> list[list[str]]:
    rows = []
    for card in cards:
        rows.append([name(card)[:48], format_number(card["programmes"], lang),
                     *(format_number(card["by_status"][s], lang) for s in rules.STATUS_ORDER),
                     *(format_number(card["indicators"][s], lang) for s in rules.INDICATOR_STATES),
                     _money(card["pagu_rp"], lang), _money(card["realisasi_rp"], lang),
                     _share(card["spending_share"], lang)])
    return rows


def _card_columns(first: str, lang: str) -> list[str]:
    t = lambda key: dashboard_message(key, lang)  # noqa: E731
    return [first, t("programmes"), *(rules.status_label(s, lang) for s in rules.STATUS_ORDER),
            t("met"), t("behind"), t("late"), t("pagu"), t("spent"), t("spending_share")]


def _scorecard_pages(pdf: PdfPages, data: dict, lang: str) -> None:
    cards, overall = data["scorecards"], data["scorecards"]["overall"]
    total = {**overall, "nama": dashboard_message("total", lang)}
    for heading, first, items, name in (
            ("by_opd", "opd", cards["opd"], lambda c: f"{c['nama_skpd']} ({c['kodeskpd']})"),
            ("by_kecamatan", "kecamatan", cards["kecamatan"], lambda c: c["nama"])):
        rows = _card_rows(items, name, lang) + _card_rows([total], lambda c: c["nama"], lang)
        for start in range(0, max(len(rows), 1), ROWS_PER_PAGE):
            fig = _page(pdf, data, dashboard_message(heading, lang), lang)
            _table(fig, _card_columns(dashboard_message(first, lang), lang), rows[start:start + ROWS_PER_PAGE])
            pdf.savefig(fig)
            plt.close(fig)


def _map_page(pdf: PdfPages, engine: Engine, city: City, data: dict, metric_crs: int, lang: str) -> None:
    fig = _page(pdf, data, dashboard_message("map", lang), lang)
    ax = fig.add_axes([0.04, 0.06, 0.7, 0.82])
    ax.set_axis_off()
    with engine.connect() as conn:
        kecamatan = gpd.read_postgis(text("SELECT nama, geom FROM kecamatan WHERE kabkota = :c"), conn,
                                     geom_col="geom", params={"c": city.code})
    if not kecamatan.empty:
        kecamatan = kecamatan.to_crs(metric_crs)
        kecamatan.plot(ax=ax, facecolor="#F4F1EA", edgecolor="#777777", linewidth=0.6)
        for row in kecamatan.itertuples():
            p = row.geom.representative_point()
            ax.annotate(row.nama, (p.x, p.y), fontsize=7, color="#555555", ha="center", va="top",
                        xytext=(0, -6), textcoords="offset points")
    features = data["locations"]["features"]
    if features:
        located = gpd.GeoDataFrame({"colour": [f["properties"]["colour"] for f in features]},
                                   geometry=[shape(f["geometry"]) for f in features], crs=4326).to_crs(metric_crs)
        for kind, style in (("Polygon", {"edgecolor": "#333333", "linewidth": 0.3}),
                            ("LineString", {"linewidth": 2.2}), ("Point", {"markersize": 70, "edgecolor": "#222222",
                                                                          "linewidth": 0.4})):
            part = located[located.geom_type.str.contains(kind)]
            if not part.empty:
                part.plot(ax=ax, color=part["colour"], **style)
    ax.set_aspect("equal")
    handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=v["colour"],
                      markeredgecolor="#222222", label=f"{v['label']} ({n})")
               for (k, v), n in ((item, data["scorecards"]["overall"]["by_status"][item[0]])
                                 for item in data["statuses"].items())]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.76, 0.86), fontsize=9,
               title=dashboard_message("legend", lang), frameon=False)
    pdf.savefig(fig)
    plt.close(fig)


def _programme_pages(pdf: PdfPages, data: dict, lang: str) -> None:
    t = lambda key: dashboard_message(key, lang)  # noqa: E731
    rows = [[p["nama_subkegiatan"][:60], p["nama_skpd"][:40], p["status_label"],
             format_number(p["days_late"], lang) if p["days_late"] else "", _share(p["realised_share"], lang),
             _share(p["planned_share"], lang), _money(p["pagu_rp"], lang), _money(p["spent_rp"], lang)]
            for p in data["programmes"]]
    columns = [t("programme"), t("opd"), t("status"), t("days_late"), t("realised"), t("planned"), t("pagu"),
               t("spent")]
    for start in range(0, len(rows), ROWS_PER_PAGE):
        fig = _page(pdf, data, t("programme_list"), lang)
        _table(fig, columns, rows[start:start + ROWS_PER_PAGE], first_width=0.3)
        pdf.savefig(fig)
        plt.close(fig)


def render_dashboard_pdf(engine: Engine, settings: Settings, cities: list[City], who: Principal, *,
                         city: str | None = None, year: int | None = None, as_of: date | None = None,
                         lang: str = "id") -> bytes:
    """The dashboard of one city and year, as of a date, as `who` may see it, as PDF bytes."""
    data = dashboard_data(engine, settings, cities, who, city=city, year=year, as_of=as_of, lang=lang)
    chosen = dashboard_city(cities, settings, city)
    out = io.BytesIO()
    # TrueType fonts (not Type 3): the text of the PDF can be searched, copied and read by screen readers
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}), PdfPages(out) as pdf:
        _scorecard_pages(pdf, data, lang)
        _map_page(pdf, engine, chosen, data, chosen.metric_crs or settings.city.metric_crs, lang)
        _programme_pages(pdf, data, lang)
        info = pdf.infodict()
        info["Title"] = f"{dashboard_message('title', lang)} \u2014 {data['city']['name']}"
        info["Subject"] = f"{dashboard_message('as_of', lang)} {data['as_of']}"
    return out.getvalue()
