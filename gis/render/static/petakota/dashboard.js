/* The programme dashboard (/dashboard): scorecards per OPD and per kecamatan, the map of programme locations
   coloured by status, the programme list and a programme's drill-down. Data come from /dashboard/data with the key
   typed on the page (kept in sessionStorage as on the web map, so a key given there shows here too); without one the
   public's view. Every asset is the service's own. Test hook: window.petakota. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("petakota-config").textContent), m = cfg.messages;
  var state = window.petakota = {ready: false, errors: [], data: null, detail: null, map: null, loads: 0};
  window.addEventListener("error", function (e) { state.errors.push(String(e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) { state.errors.push(String(e.reason)); });

  var numbers = new Intl.NumberFormat(cfg.locale, {maximumFractionDigits: 2});
  var money = new Intl.NumberFormat(cfg.locale, {maximumFractionDigits: 0});
  var percent = new Intl.NumberFormat(cfg.locale, {style: "percent", maximumFractionDigits: 1});
  function num(v) { return v === null || v === undefined ? "\u2014" : numbers.format(v); }
  function rp(v) { return v === null || v === undefined ? "\u2014" : money.format(v); }
  function pct(v) { return v === null || v === undefined ? "\u2014" : percent.format(v); }
  function day(iso) {
    if (!iso) { return "\u2014"; }
    return new Date(iso + "T00:00:00").toLocaleDateString(cfg.locale, {day: "numeric", month: "long", year: "numeric"});
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "on") {
        Object.keys(attrs.on).forEach(function (ev) { e.addEventListener(ev, attrs.on[ev]); });
      } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return e;
  }
  function apiKey() { return sessionStorage.getItem("petakota-key"); }
  function headers() { return apiKey() ? {"X-API-Key": apiKey()} : {}; }
  function getJSON(url) {
    return fetch(url, {headers: headers(), cache: "no-store"}).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.detail || r.statusText); }
        return j;
      });
    });
  }
  var chosen = {year: cfg.year, as_of: cfg.as_of};  // what the page shows: the URL's, then the controls'
  function params() {
    var out = [];
    if (chosen.year) { out.push("year=" + encodeURIComponent(chosen.year)); }
    if (chosen.as_of) { out.push("as_of=" + encodeURIComponent(chosen.as_of)); }
    return out.length ? "&" + out.join("&") : "";
  }

  // --- the map ---------------------------------------------------------------------------------------------------
  var map = state.map = L.map("map", {zoomControl: true, attributionControl: false});
  var outlines = L.geoJSON(cfg.kecamatan, {interactive: false,
    style: function () { return {color: "#777777", weight: 1, fill: true, fillColor: "#F4F1EA", fillOpacity: 1}; }
  }).addTo(map);
  var b = cfg.city.bbox;
  map.fitBounds(outlines.getLayers().length ? outlines.getBounds() : [[b[1], b[0]], [b[3], b[2]]]);
  var located = null;
  function drawLocations(fc) {
    if (located) { map.removeLayer(located); }
    located = L.geoJSON(fc, {
      style: function (f) {
        return {color: f.properties.colour, weight: 4, fillColor: f.properties.colour, fillOpacity: 0.75};
      },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {radius: 8, fillColor: f.properties.colour, fillOpacity: 0.95, color: "#222",
                                       weight: 1});
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(f.properties.nama);
        layer.on("click", function () { openProgramme(f.properties.programme_kode); });
      }
    }).addTo(map);
  }
  function legend(data) {
    var box = document.getElementById("dash-legend");
    box.textContent = "";
    Object.keys(data.statuses).forEach(function (k) {
      var s = data.statuses[k];
      box.appendChild(el("div", {"class": "dash-legend-row", "data-status": k}, [
        el("span", {"class": "dash-swatch", style: "background:" + s.colour}),
        s.label + " (" + data.scorecards.overall.by_status[k] + ")"]));
    });
  }

  // --- scorecards ----------------------------------------------------------------------------------------------------
  function statusHead(data) {
    return Object.keys(data.statuses).map(function (k) {
      return el("th", {"class": "dash-status-head", title: data.statuses[k].label}, [
        el("span", {"class": "dash-swatch", style: "background:" + data.statuses[k].colour}), data.statuses[k].label]);
    });
  }
  function cardRow(data, name, card, attrs) {
    var cells = [el("th", {scope: "row", text: name}), el("td", {text: num(card.programmes)})];
    Object.keys(data.statuses).forEach(function (k) {
      cells.push(el("td", {text: num(card.by_status[k]), "data-status": k}));
    });
    ["met", "behind", "late"].forEach(function (k) {
      cells.push(el("td", {text: num(card.indicators[k]), "class": "dash-" + k}));
    });
    cells.push(el("td", {text: rp(card.pagu_rp)}), el("td", {text: rp(card.realisasi_rp)}),
               el("td", {"class": "dash-spend"}, [
                 el("span", {"class": "dash-bar"}, [el("span", {style: "width:" +
                   Math.round(Math.min(card.spending_share || 0, 1) * 100) + "%"})]), pct(card.spending_share)]));
    return el("tr", attrs, cells);
  }
  function scorecard(table, data, first, cards, nameOf, keyAttr) {
    table.textContent = "";
    table.appendChild(el("thead", {}, [el("tr", {}, [el("th", {text: first}), el("th", {text: m.programmes})]
      .concat(statusHead(data)).concat([el("th", {text: m.met}), el("th", {text: m.behind}), el("th", {text: m.late}),
        el("th", {text: m.pagu}), el("th", {text: m.spent}), el("th", {text: m.spending_share})]))]));
    var body = el("tbody");
    cards.forEach(function (c) { body.appendChild(cardRow(data, nameOf(c), c, keyAttr(c))); });
    table.appendChild(body);
    table.appendChild(el("tfoot", {}, [cardRow(data, m.total, data.scorecards.overall, {"class": "dash-total"})]));
  }
  function overview(data) {
    var o = data.scorecards.overall, box = document.getElementById("dash-overview");
    box.textContent = "";
    [[m.programmes, num(o.programmes), "programmes"], [m.indicators_met, num(o.indicators.met), "met"],
     [m.indicators_behind, num(o.indicators.behind), "behind"], [m.indicators_late, num(o.indicators.late), "late"],
     [m.programmes_late, num(o.by_status.terlambat), "terlambat"],
     [m.spending_share, pct(o.spending_share), "spending"]].forEach(function (t) {
      box.appendChild(el("div", {"class": "dash-tile", "data-tile": t[2]}, [
        el("div", {"class": "dash-tile-number", text: t[1]}), el("div", {"class": "dash-tile-label", text: t[0]})]));
    });
  }
  function programmeList(data) {
    var table = document.getElementById("dash-programmes");
    table.textContent = "";
    table.appendChild(el("thead", {}, [el("tr", {}, [m.programme, m.opd, m.status, m.days_late, m.realised, m.planned,
      m.pagu, m.spent].map(function (h) { return el("th", {text: h}); }))]));
    var body = el("tbody");
    if (!data.programmes.length) { body.appendChild(el("tr", {}, [el("td", {colspan: "8", text: m.no_programmes})])); }
    data.programmes.forEach(function (p) {
      body.appendChild(el("tr", {"class": "dash-programme", "data-kode": p.kode, tabindex: "0",
                                 on: {click: function () { openProgramme(p.kode); },
                                      keydown: function (e) { if (e.key === "Enter") { openProgramme(p.kode); } }}}, [
        el("th", {scope: "row", text: p.nama_subkegiatan}), el("td", {"class": "dash-text", text: p.nama_skpd}),
        el("td", {"class": "dash-status", "data-status": p.status}, [
          el("span", {"class": "dash-swatch", style: "background:" + p.colour}), p.status_label]),
        el("td", {text: p.days_late ? num(p.days_late) : ""}), el("td", {text: pct(p.realised_share)}),
        el("td", {text: pct(p.planned_share)}), el("td", {text: rp(p.pagu_rp)}), el("td", {text: rp(p.spent_rp)})]));
    });
    table.appendChild(body);
  }

  // --- drill-down ------------------------------------------------------------------------------------------------------
  function image(a) {  // a private file needs the key: fetched as a blob (an <img> cannot send a header)
    var img = el("img", {alt: a.filename, loading: "lazy"});
    var url = cfg.base + (a.thumbnail_href || a.href);
    if (a.public || !apiKey()) { img.src = url; return img; }
    fetch(url, {headers: headers()}).then(function (r) { return r.blob(); })
      .then(function (blob) { img.src = URL.createObjectURL(blob); });
    return img;
  }
  function detailTable(heads, rows) {
    return el("table", {"class": "dash-table"}, [el("thead", {}, [el("tr", {}, heads.map(function (h) {
      return el("th", {text: h}); }))]), el("tbody", {}, rows)]);
  }
  function showDetail(d) {
    var box = document.getElementById("dash-detail"), st = d.statuses[d.status];
    box.textContent = "";
    box.setAttribute("data-kode", d.kode);
    box.appendChild(el("button", {type: "button", id: "dash-close", "class": "no-print", text: m.close,
                                  on: {click: function () { box.hidden = true; }}}));
    box.appendChild(el("h2", {text: d.nama_subkegiatan}));
    box.appendChild(el("p", {"class": "dash-detail-status", "data-status": d.status}, [
      el("span", {"class": "dash-swatch", style: "background:" + st.colour}), st.label +
      (d.days_late ? " \u00b7 " + num(d.days_late) + " " + m.days : "") + " \u00b7 " + m.as_of + " " + day(d.as_of)]));
    box.appendChild(el("p", {text: d.nama_skpd + " (" + d.kodeskpd + ") \u00b7 " + m.schedule + " " +
      day(d.tanggal_mulai) + " \u2013 " + day(d.tanggal_selesai) + " \u00b7 " + m.pagu + " " + rp(d.pagu_rp) +
      " \u00b7 " + m.spent + " " + rp(d.spent_rp) + " (" + pct(d.spending_share) + ")"}));
    if (d.catatan) { box.appendChild(el("p", {"class": "dash-note", text: m.note + ": " + d.catatan})); }
    box.appendChild(el("h3", {text: m.indicators}));
    box.appendChild(detailTable([m.indicators, m.period, m.period_end, m.area, m.target, m.realised, m.unit, m.status],
      d.indicators.map(function (i) {
        var source = i.sumber === "project_parcels" ? " (" + m.computed_parcels + ")" :
          i.sumber === "business_centers" ? " (" + m.computed_centres + ")" : "";
        return el("tr", {"class": "dash-indicator", "data-state": i.state}, [el("td", {text: i.nama + source}),
          el("td", {text: i.periode}), el("td", {text: day(i.batas_periode)}), el("td", {text: i.wilayah_kode || ""}),
          el("td", {text: num(i.target)}), el("td", {text: num(i.realised)}), el("td", {text: i.satuan}),
          el("td", {text: m["state_" + i.state] + (i.days_late ? " (" + num(i.days_late) + " " + m.days + ")" : "")})]);
      })));
    if (d.milestones && d.milestones.length) {
      box.appendChild(el("h3", {text: m.milestones}));
      box.appendChild(detailTable([m.milestone, m.planned_date, m.actual_date, m.status],
        d.milestones.map(function (s) {
          return el("tr", {"class": "dash-milestone", "data-state": s.state}, [el("td", {text: s.nama}),
            el("td", {text: day(s.planned_date)}), el("td", {text: s.actual_date ? day(s.actual_date) : "\u2014"}),
            el("td", {text: m["milestone_" + s.state] + (s.days_late ? " (" + num(s.days_late) + " " + m.days + ")" : "")})]);
        })));
    }
    box.appendChild(el("h3", {text: m.progress}));
    var heads = [m.date, m.value, m.spent, m.status].concat(d.private ? [m.note, m.by] : []);
    box.appendChild(d.progress.length ? detailTable(heads, d.progress.map(function (u) {
      var cells = [el("td", {text: day(u.tanggal)}), el("td", {text: num(u.realisasi)}), el("td", {text: rp(u.realisasi_rp)}),
                   el("td", {text: m["progress_" + u.status] || u.status})];
      if (d.private) { cells.push(el("td", {text: u.catatan || ""}), el("td", {text: u.oleh || ""})); }
      return el("tr", {"class": "dash-update"}, cells);
    })) : el("p", {text: m.no_progress}));
    box.appendChild(el("h3", {text: m.attachments}));
    var list = el("ul", {"class": "dash-attachments"});
    d.attachments.forEach(function (a) {
      list.appendChild(el("li", {"class": "dash-attachment", "data-id": String(a.id)}, [
        a.thumbnail_href ? image(a) : null,
        el("a", {href: cfg.base + a.href, target: "_blank", rel: "noopener", text: a.filename}),
        " \u00b7 " + a.location + (a.public ? "" : " (" + m.private + ")")]));
    });
    box.appendChild(d.attachments.length ? list : el("p", {text: m.no_attachments}));
    box.hidden = false;
    if (d.locations.features.length) {
      map.fitBounds(L.geoJSON(d.locations).getBounds(), {maxZoom: 16, animate: false});
    }
    box.scrollIntoView({block: "start"});
  }
  function openProgramme(kode) {
    var asOf = chosen.as_of;
    return getJSON(cfg.programme + encodeURIComponent(kode) + "?lang=" + cfg.lang + (asOf ? "&as_of=" + asOf : ""))
      .then(function (d) { state.detail = d; showDetail(d); })
      .catch(function (e) { state.errors.push(String(e)); });
  }
  state.openProgramme = openProgramme;

  // --- loading -----------------------------------------------------------------------------------------------------------
  function render(data) {
    state.data = data;
    document.getElementById("dash-asof-text").textContent = m.as_of + " " + day(data.as_of);
    document.getElementById("dash-view").textContent = "\u00b7 " + (data.public ? m.public_view : m.key_view);
    var select = document.getElementById("dash-year");
    select.textContent = "";
    data.years.forEach(function (y) { select.appendChild(el("option", {value: String(y), text: String(y)})); });
    if (data.year !== null) { select.value = String(data.year); }
    document.getElementById("dash-as-of").value = data.as_of;
    overview(data);
    scorecard(document.getElementById("dash-opd"), data, m.opd, data.scorecards.opd,
              function (c) { return c.nama_skpd; }, function (c) { return {"data-opd": c.kodeskpd}; });
    scorecard(document.getElementById("dash-kecamatan"), data, m.kecamatan, data.scorecards.kecamatan,
              function (c) { return c.nama; }, function (c) { return {"data-kecamatan": c.kecamatan_kode || "kota"}; });
    programmeList(data);
    drawLocations(data.locations);
    legend(data);
    document.getElementById("dash-pdf").href = cfg.pdf + params();
  }
  function load() {
    state.ready = false;
    return getJSON(cfg.data + params()).then(function (data) {
      render(data);
      state.loads += 1;
      state.ready = true;
    }).catch(function (e) { state.errors.push(String(e)); state.ready = true; });
  }
  var key = document.getElementById("dash-key");
  key.value = apiKey() || "";
  key.addEventListener("change", function () {
    if (key.value) { sessionStorage.setItem("petakota-key", key.value); } else { sessionStorage.removeItem("petakota-key"); }
    document.getElementById("dash-detail").hidden = true;
    load();
  });
  document.getElementById("dash-year").addEventListener("change", function (e) { chosen.year = e.target.value; load(); });
  document.getElementById("dash-as-of").addEventListener("change", function (e) {
    chosen.as_of = e.target.value; load();
  });
  document.getElementById("dash-print").addEventListener("click", function () { window.print(); });
  // With a key, the PDF is asked for with it (a link cannot send a header) and opened from memory.
  document.getElementById("dash-pdf").addEventListener("click", function (e) {
    if (!apiKey()) { return; }
    e.preventDefault();
    fetch(e.currentTarget.href, {headers: headers()}).then(function (r) {
      if (!r.ok) { throw new Error("PDF: HTTP " + r.status); }
      return r.blob();
    }).then(function (blob) { state.pdf = blob.size; window.open(URL.createObjectURL(blob), "_blank"); })
      .catch(function (err) { state.errors.push(String(err)); });
  });
  document.getElementById("dash-lang").href = cfg.other_lang;
  load();
})();
