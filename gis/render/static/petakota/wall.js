/* The command-center wall (/wall): the city's public map and the indicator tiles. Every asset comes from the
   service itself (no basemap, no font server, no CDN). The figures are polled from /wall/data: only what changed is
   written (no reload, no blanking), and the map's layers are drawn again when the data's version changes.
   Test hook: window.petakota. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("petakota-config").textContent), wall = cfg.wall;
  var state = window.petakota = {ready: false, errors: [], polls: 0, version: null, panel: 0, redraws: 0,
                                 loadedAt: Date.now(), map: null, data: null};
  window.addEventListener("error", function (e) { state.errors.push(String(e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) { state.errors.push(String(e.reason)); });

  var map = state.map = L.map("map", {zoomControl: false, attributionControl: true, keyboard: false,
                                   fadeAnimation: false});  // a redrawn layer replaces the old one at once
  map.attributionControl.setPrefix("");
  map.attributionControl.addAttribution(cfg.attribution);

  // --- the map: the public map's visible layers, as the web map draws them ---------------------------------------
  var scope = cfg.city.scope.length ? "?city=" + encodeURIComponent(cfg.city.scope.join(",")) : "";
  var shown = cfg.layers.filter(function (l) { return l.visible; }), grids = {}, pending = {};
  // every layer shown reads one tile holding them all (one request per tile); a redraw reads anew
  var multi = cfg.base + "/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=" +
    encodeURIComponent(shown.map(function (l) { return l.id; }).join(",")) + scope.replace("?", "&");
  function addGrid(layer, replacing, tiles) {
    var grid = window.petakotaStyle.grid(layer, tiles);
    pending[layer.id] = true;
    grid.once("load", function () {
      delete pending[layer.id];
      // the new drawing is complete: only now does the old one go (no blank map between the two)
      if (replacing) { map.removeLayer(replacing); }
      if (Object.keys(pending).length === 0) { state.ready = true; }
    });
    grids[layer.id] = grid.addTo(map);
  }
  function redrawLayers() {
    state.redraws += 1;
    state.ready = false;
    var tiles = window.petakotaStyle.shared(multi);
    shown.forEach(function (layer) { addGrid(layer, grids[layer.id], tiles); });
  }

  // --- panels: the city, or the estate project's extent ----------------------------------------------------------
  var panelName = document.getElementById("wall-panel");
  function showCity() {
    var v = cfg.city;
    // the whole city fills the map (the planner map's zoom leaves it small on a wall-sized screen)
    if (v.bbox) { map.fitBounds([[v.bbox[1], v.bbox[0]], [v.bbox[3], v.bbox[2]]], {animate: false}); }
    else { map.setView([v.center_lat, v.center_lon], v.zoom, {animate: false}); }
  }
  function showPanel(i) {
    var box = state.data && state.data.project_bbox;
    if (i === 1 && !box) { i = 0; }  // no estate in this city: the city stays in view
    state.panel = i;
    if (i === 1) { map.fitBounds([[box[1], box[0]], [box[3], box[2]]], {animate: false, padding: [20, 20]}); }
    else { showCity(); }
    panelName.textContent = panelName.getAttribute(i === 1 ? "data-estate" : "data-city");
  }
  map.invalidateSize();
  showCity();
  var first = window.petakotaStyle.shared(multi);
  shown.forEach(function (layer) { addGrid(layer, null, first); });
  if (!shown.length) { state.ready = true; }

  // --- the tiles ----------------------------------------------------------------------------------------------------
  var box = document.getElementById("wall-tiles"), tiles = {};
  function el(tag, cls) { var e = document.createElement(tag); e.className = cls; return e; }
  function setText(node, value) { if (node.textContent !== value) { node.textContent = value; } }
  function asOf(iso) {  // the time on the command center's own clock, as its language writes it
    var time = new Date(iso).toLocaleTimeString(cfg.locale, {hour: "2-digit", minute: "2-digit"});
    return cfg.messages.wall_as_of + " " + time;
  }
  function render(data) {
    data.tiles.forEach(function (t) {
      var tile = tiles[t.id];
      if (!tile) {
        var root = el("div", "wall-tile");
        root.setAttribute("data-tile", t.id);
        tile = tiles[t.id] = {root: root, label: el("div", "wall-label"), number: el("div", "wall-number"),
                              detail: el("div", "wall-detail"), asof: el("div", "wall-asof")};
        [tile.label, tile.number, tile.detail, tile.asof].forEach(function (n) { root.appendChild(n); });
        box.appendChild(root);
      }
      setText(tile.label, t.label);
      setText(tile.number, t.text);
      setText(tile.detail, t.detail);
      setText(tile.asof, asOf(t.as_of));
      var cls = "wall-tile " + t.status;
      if (tile.root.className !== cls) { tile.root.className = cls; }
    });
  }
  function clock() {
    setText(document.getElementById("wall-clock"), new Date().toLocaleTimeString(cfg.locale,
      {hour: "2-digit", minute: "2-digit"}));
  }

  // --- polling -------------------------------------------------------------------------------------------------------
  function poll() {
    return fetch(wall.data, {cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("wall data: HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      var first = state.data === null;
      state.data = data;
      render(data);
      if (first) { showPanel(wall.panel || 0); }
      else if (data.version !== state.version) { redrawLayers(); }
      state.version = data.version;
      state.polls += 1;
    }).catch(function (e) { state.errors.push(String(e)); });  // the figures shown stay until the next poll
  }
  clock();
  setInterval(clock, 10000);
  poll();
  setInterval(poll, wall.refresh_s * 1000);
  if (wall.rotate_s && wall.panel === null) {
    setInterval(function () { showPanel((state.panel + 1) % wall.panels.length); }, wall.rotate_s * 1000);
  }
})();
