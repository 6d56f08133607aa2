/* PetaKota web map, the key and the language (planner map): an API key counts at once, in place; the language
   opens the page again, keeping the view, the layers switched on and the siting result. A part of map.js, which
   calls it with the shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.language = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, state = ctx.state, params = ctx.params, map = ctx.map, grids = ctx.grids, pending = ctx.pending;
  var el = ctx.el, t = ctx.t, apiKey = ctx.apiKey;
  var section = ctx.section;

  // API key and language. A key counts at once, in place: requests send it, tiles are asked again with it. The
  // language opens the page again (the server writes it in its language): what is drawn and typed is kept (save)
  // and drawn again (restore, map_draw.js).
  var key = el("input", {id: "pk-key", type: "password", placeholder: t("key"), value: apiKey() || ""});
  key.addEventListener("change", function () {
    sessionStorage.setItem("petakota-key", key.value.trim());
    ctx.refreshTiles();
    state.results.key = !!key.value.trim();
  });
  section(t("key"), [key, el("button", {id: "pk-lang", text: t("lang"), on: {click: function () {
    ctx.save();
    keepForSwitch();
    params.set("lang", state.lang === "id" ? "en" : "id");
    location.search = params.toString();
  }}})]);

  // A language switch also keeps the view, the layers switched on and the siting result (the candidates carry
  // their explanations in both languages); the new page takes them once. A result too big for the session's
  // storage is computed again.
  var SWITCH = "petakota-switch";
  function keepForSwitch() {
    var c = map.getCenter(), kept = {center: [c.lat, c.lng], zoom: map.getZoom(),
      layers: cfg.layers.filter(function (l) { return map.hasLayer(grids[l.id]); }).map(function (l) { return l.id; }),
      siting: state.results.siting || null, site: state.results.site || null};
    try {
      sessionStorage.setItem(SWITCH, JSON.stringify(kept));
    } catch (e) {
      kept.siting = null;
      kept.rerun = !!state.results.siting;
      sessionStorage.setItem(SWITCH, JSON.stringify(kept));
    }
  }
  function showLayer(layer, on) {  // as the layer switcher would, keeping `ready` for the layers now shown
    var grid = grids[layer.id];
    if (on === map.hasLayer(grid)) { return; }
    if (on) { pending[layer.id] = true; grid.addTo(map); } else { delete pending[layer.id]; map.removeLayer(grid); }
  }
  (function takeSwitch() {
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(SWITCH) || "null"); } catch (e) { kept = null; }
    sessionStorage.removeItem(SWITCH);
    if (!kept || !kept.center) { return; }
    cfg.layers.forEach(function (layer) { showLayer(layer, kept.layers.indexOf(layer.id) >= 0); });
    if (Object.keys(pending).length === 0) { state.ready = true; }
    ctx.fillLegend();
    map.setView(kept.center, kept.zoom, {animate: false});
    ctx.viewKept = true;
    var sited = kept.siting ? ctx.showSiting(kept.siting) : (kept.rerun ? ctx.runSiting() : null);
    if (sited && kept.site) {
      sited.then(function () { if (ctx.hasSite(kept.site - 1)) { ctx.chooseSite(kept.site - 1, false); } });
    }
    state.results.switched = true;
  }());
};
