/* PetaKota web map, drawing and measuring (planner map): a line, an area or a site drawn point by point, with undo,
   clear and draggable vertices; "Finish" measures it and checks a site against the zoning and the suitability.
   Every refusal is said in the page's language. What is drawn and typed is kept for the session (save, restore).
   A part of map.js, which calls it with the shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.draw = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, state = ctx.state, map = ctx.map, el = ctx.el, t = ctx.t, num = ctx.num, title = ctx.title;
  var api = ctx.api, withCity = ctx.withCity, section = ctx.section, search = ctx.searchInput;

  // Drawing: click to add points, "Finish" to measure / analyse.
  var sketch = null;  // what is being drawn: {mode, points, done}
  var drawn = null;  // the shape on the map
  var out = el("div", {id: "pk-output", "class": "pk-output"});
  // An activity is chosen by its name in the city's ITBX table; the English page shows its English name where
  // one is known, else the table's name with its KBLI code.
  function activityName(a) {
    var english = state.lang === "en" && a.name_en;
    return (english || a.kegiatan) + (a.kbli ? " (KBLI " + a.kbli + ")" : "");
  }
  var activity = el("select", {id: "pk-activity"}, (cfg.activities || []).map(function (a) {
    return el("option", {value: a.kegiatan, text: activityName(a)});
  }));
  // KBLI as OSS takes it: typed or picked from the KBLI 2020 list as one types; it takes precedence over the
  // activity drop-down.
  var kbliList = el("datalist", {id: "pk-kbli-list"});
  var kbli = el("input", {id: "pk-kbli", list: "pk-kbli-list", inputmode: "numeric", maxlength: "5",
                          placeholder: "10750", on: {input: function () {
    var q = kbli.value.trim();
    if (q.length < 2) { return; }
    api("/kbli?limit=15&q=" + encodeURIComponent(q)).then(function (r) {
      kbliList.innerHTML = "";
      r.kbli.forEach(function (k) {
        kbliList.appendChild(el("option", {value: k.kode, label: (state.lang === "en" && k.judul_en) || k.judul}));
      });
    }).catch(function () {});
  }}});
  function conformityInputs(geom) {
    var code = kbli.value.trim();
    return withCity(/^[0-9]{2,5}$/.test(code) ? {geometry: geom, kbli: code} : {geometry: geom, activity: activity.value});
  }
  // An ITBX verdict in the page's words with its letter: "Diizinkan (I)", "Permitted (I)".
  function verdictWords(v) {
    if (cfg.messages["verdict_" + v]) { return t("verdict_" + v) + " (" + v + ")"; }
    return v === "unregulated" ? t("unregulated") : v;
  }
  function conformityDetails(r) {
    var list = el("ul", {id: "pk-zones"});
    r.zones.forEach(function (z) {
      var rule = verdictWords(z.ketentuan);
      list.appendChild(el("li", {text: (z.namszn || z.kodszn) + " (" + z.kodszn + "): " + num(100 * z.share, 0) +
        " % - " + rule}));
    });
    (r.warnings || []).forEach(function (w) {
      list.appendChild(el("li", {"class": "pk-warning", text: title(w.message)}));
    });
    return list;
  }
  // What is drawn and the panel's inputs are kept for the session: a language switch (a new page) or a key
  // typed in the panel (a reload) draws them again and repeats the analysis in the new language.
  var SAVED = "petakota-sketch";
  function save() {
    sessionStorage.setItem(SAVED, JSON.stringify({
      sketch: sketch && {mode: sketch.mode, done: sketch.done, points: sketch.points.map(function (p) {
        return [p.lat, p.lng];
      })}, kbli: kbli.value, activity: activity.value, search: search.value}));
  }
  function redraw() {
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    if (!sketch || !sketch.points.length) { return; }
    var shape = (sketch.mode === "line" ? L.polyline(sketch.points) : L.polygon(sketch.points))
      .setStyle({color: "#00B3FF", weight: 3});
    // Each vertex is a handle: dragging it moves the point (and analyses the shape again when it was finished).
    drawn = L.featureGroup([shape].concat(sketch.points.map(function (p, i) {
      return L.marker(p, {draggable: true, keyboard: false, icon: L.divIcon({className: "pk-vertex",
        iconSize: [14, 14], html: '<span class="pk-vertex-dot"></span>'})})
        .on("drag", function (e) { sketch.points[i] = e.target.getLatLng(); shape.setLatLngs(sketch.points); })
        .on("dragend", function () { save(); if (sketch.done) { analyse(sketch); } });
    }))).addTo(map);
  }
  function say(text, refusal) {
    out.innerHTML = "";
    out.appendChild(el("p", {"class": refusal ? "pk-refusal" : "pk-hint", role: refusal ? "alert" : "status",
                             text: text}));
  }
  function hint() {
    say(t("draw_hint") + " (" + num(sketch.points.length, 0) + " " + t("draw_points") + ")");
  }
  function startDraw(mode) {
    map.closePopup();
    sketch = {mode: mode, points: [], done: false};
    redraw();
    map.getContainer().style.cursor = "crosshair";
    hint();
    save();
  }
  map.on("click", function (e) {
    if (!sketch || sketch.done) { ctx.identify(e); return; }
    sketch.points.push(e.latlng);
    redraw();
    hint();
    save();
  });
  function undo() {
    if (!sketch || !sketch.points.length) { say(t("draw_nothing"), true); return; }
    sketch.points.pop();
    sketch.done = false;  // an analysed shape opens again for editing
    map.getContainer().style.cursor = "crosshair";
    redraw();
    hint();
    save();
  }
  function clearSketch() {
    sketch = null;
    redraw();
    map.getContainer().style.cursor = "";
    out.innerHTML = "";
    save();
  }
  function geojsonOf(d) {
    var pts = d.points.map(function (p) { return [p.lng, p.lat]; });
    if (d.mode === "line") { return {type: "LineString", coordinates: pts}; }
    return {type: "Polygon", coordinates: [pts.concat([pts[0]])]};
  }
  // A refusal of the service in the page's language: the known ones (by the problem's code) translated, any
  // other with its detail.
  function refusal(err) {
    if (!err.status) { return t("draw_failed") + ": " + (err.message || err); }
    if (err.code === "outside-city") { return t("draw_outside_city"); }
    return t("draw_refused") + " (" + err.status + "): " + (err.detail || err.message);
  }
  function finish() {
    if (!sketch) { say(t("draw_nothing"), true); return; }
    if (sketch.points.length < (sketch.mode === "line" ? 2 : 3)) {
      say(t(sketch.mode === "line" ? "draw_need_line" : "draw_need_area"), true);
      return;
    }
    sketch.done = true;
    map.getContainer().style.cursor = "";
    save();
    analyse(sketch);
  }
  function analyse(d) {
    var geom = geojsonOf(d);
    say(t("running"));
    api("/measure" + (state.city.length === 1 ? "?city=" + state.city[0] : ""), {geometry: geom}).then(function (m) {
      state.results.measure = m;
      var text = d.mode === "line" ? t("length") + ": " + num(m.length_m, 1) + " m"
        : t("area") + ": " + num(m.area_ha, 2) + " ha, " + t("perimeter") + ": " + num(m.length_m, 0) + " m";
      out.textContent = text;
      if (d.mode !== "site") { return; }
      return Promise.all([
        api("/processes/zoning-conformity/execution", {inputs: conformityInputs(geom)}),
        api("/processes/site-suitability/execution", {inputs: withCity({mode: "evaluate", site: geom})})
      ]).then(function (r) {
        state.results.conformity = r[0];
        state.results.evaluate = r[1];
        out.innerHTML = "";
        out.appendChild(el("p", {text: text}));
        out.appendChild(el("p", {"class": "pk-verdict pk-verdict-" + r[0].verdict,
          text: t("verdict") + ": " + verdictWords(r[0].verdict) + " - " + r[0].explanation[state.lang]}));
        out.appendChild(conformityDetails(r[0]));
        out.appendChild(el("p", {id: "pk-suitability",
          text: t("suitability") + ": " + r[1].explanation[state.lang]}));
      });
    }).catch(function (err) {
      state.results.refusal = err.detail || String(err.message || err);
      state.results.refusalCode = err.code || null;
      say(refusal(err), true);
    });
  }
  section(t("measureArea"), [
    el("button", {id: "pk-measure-line", text: t("measureLine"), on: {click: function () { startDraw("line"); }}}),
    el("button", {id: "pk-measure-area", text: t("measureArea"), on: {click: function () { startDraw("area"); }}}),
    el("button", {id: "pk-draw-site", text: t("drawSite"), on: {click: function () { startDraw("site"); }}}),
    el("label", {text: t("activity")}), activity,
    el("label", {text: t("kbli"), "for": "pk-kbli"}), kbli, kbliList,
    el("button", {id: "pk-finish", text: t("finish"), on: {click: finish}}),
    el("button", {id: "pk-undo", text: t("draw_undo"), on: {click: undo}}),
    el("button", {id: "pk-clear", text: t("draw_clear"), on: {click: clearSketch}}), out
  ]);
  [kbli, activity].forEach(function (input) { input.addEventListener("change", save); });

  // A new page (language switch, reload): what was drawn and typed, drawn again (map.js calls it last).
  ctx.restore = function restore() {
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(SAVED) || "null"); } catch (e) { kept = null; }
    if (!kept) { return; }
    if (kept.kbli) { kbli.value = kept.kbli; }
    if (kept.activity && activity.querySelector('option[value="' + kept.activity.replace(/"/g, "") + '"]')) {
      activity.value = kept.activity;
    }
    if (kept.search) { search.value = kept.search; ctx.runSearch(); }
    if (kept.sketch && kept.sketch.points.length) {
      sketch = {mode: kept.sketch.mode, done: kept.sketch.done, points: kept.sketch.points.map(function (p) {
        return L.latLng(p[0], p[1]);
      })};
      redraw();
      if (sketch.done) { analyse(sketch); } else { map.getContainer().style.cursor = "crosshair"; hint(); }
    }
    state.results.restored = true;
  };
  ctx.isDrawing = function () { return !!(sketch && !sketch.done); };  // a click adds a point, not identifies
  ctx.save = save;
  ctx.refusal = refusal;
};
