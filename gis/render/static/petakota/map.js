/* PetaKota web map: the planners' map (/map) and the public embed (/embed/{id}).
   Everything it loads comes from the service itself (or the PMTiles file next to a static embed);
   the only outside host is the optional basemap. Test hook: window.petakota.

   This script holds the map itself: the page's config and words, the Leaflet map, the city in view, basemaps,
   layers and the city switcher. Each tool is a part in its own file (loaded before this one), registered in
   window.petakotaParts and called here in order with one shared context `ctx`:
     map_identify.js (identify), map_legend.js (legend) - both pages; the planner map only:
     map_search.js (search), map_draw.js (draw), map_siting.js (siting, project), map_language.js (language).
   ctx holds what they share:
     cfg, state (= window.petakota), params (the address's query), map, grids (layer id -> its vector layer),
     pending (layer ids still drawing: `state.ready` once empty);
     helpers t(key), num(v, decimals), day(iso), title(obj), el(tag, attrs, children), apiKey(), headers(json),
     api(path, body), tileUrl(layer), cityQuery(sep), inView(layer), withCity(inputs), refreshTiles();
     section(name, children) - a section of the panel (planner map);
   and what the parts add for the ones after them:
     identify(e) (identify); fillLegend() (legend); searchInput, runSearch() (search); isDrawing() (false until
     the draw part replaces it), save(), refusal(err), restore() (draw); runSiting(), showSiting(r),
     chooseSite(i, zoom), hasSite(i) (siting);
     viewKept (language): true when a language switch brought the view along (the project then keeps it). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("petakota-config").textContent);
  var state = window.petakota = {ready: false, layersLoaded: [], errors: [], lang: "id", map: null, results: {}};
  window.addEventListener("error", function (e) { state.errors.push(String(e.message || e)); });
  window.addEventListener("unhandledrejection", function (e) { state.errors.push(String(e.reason)); });

  // Words come from the service's message catalogue (cfg.messages, in the page's language); numbers and dates
  // are written the way that language writes them (id-ID 1.350,51; en-GB 1,350.51).
  var params = new URLSearchParams(location.search);
  state.lang = cfg.lang;
  function t(k) { return cfg.messages[k] || k; }
  function num(v, decimals) {
    var opts = decimals === undefined ? {maximumFractionDigits: 2}
      : {minimumFractionDigits: decimals, maximumFractionDigits: decimals};
    return new Intl.NumberFormat(cfg.locale, opts).format(v);
  }
  function day(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso));
    if (!m) { return String(iso); }
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).toLocaleDateString(cfg.locale,
      {day: "numeric", month: "long", year: "numeric", timeZone: "UTC"});
  }
  state.format = {num: num, day: day};
  function title(obj) { return obj ? (obj[state.lang] || obj.id || "") : ""; }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "vars") {  // data (a colour) for map.css
        Object.keys(attrs.vars).forEach(function (v) { e.style.setProperty(v, attrs.vars[v]); });
      } else if (k === "on") {
        Object.keys(attrs.on).forEach(function (ev) { e.addEventListener(ev, attrs.on[ev]); });
      } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  // The key typed in the panel counts at once (before it is confirmed), else the one kept for the session.
  function apiKey() {
    if (cfg.embed) { return null; }
    var typed = document.getElementById("pk-key");
    return (typed && typed.value.trim()) || sessionStorage.getItem("petakota-key");
  }
  function headers(json) {
    var h = {};
    if (json) { h["Content-Type"] = "application/json"; }
    if (apiKey()) { h["X-API-Key"] = apiKey(); }
    return h;
  }
  function api(path, body) {
    var opts = body ? {method: "POST", headers: headers(true), body: JSON.stringify(body)} : {headers: headers()};
    return fetch(cfg.base + path, opts).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) {  // a problem (RFC 9457): its status, detail and stable code explain the refusal
          var err = new Error(j.detail || r.statusText);
          err.status = r.status;
          err.detail = j.detail;
          err.code = j.code;
          throw err;
        }
        return j;
      });
    });
  }

  // PMTiles: a static embed reads tiles from one archive instead of the API.
  if (cfg.pmtiles) {
    var archive = new pmtiles.PMTiles(cfg.pmtiles), tiles = {};
    var realFetch = window.fetch.bind(window);
    // Every layer draws from the same archive tile: read each tile once (and retry once on a network hiccup).
    function readTile(z, x, y) {
      var key = z + "/" + x + "/" + y;
      if (!tiles[key]) {
        tiles[key] = archive.getZxy(z, x, y).catch(function () { return archive.getZxy(z, x, y); });
      }
      return tiles[key];
    }
    window.fetch = function (url, opts) {
      var m = /^pmtiles:\/\/(\d+)\/(\d+)\/(\d+)/.exec(String(url));
      if (!m) { return realFetch(url, opts); }
      return readTile(+m[1], +m[2], +m[3]).then(function (tile) {
        return new Response(tile ? tile.data : new ArrayBuffer(0), {status: 200});
      });
    };
  }

  var map = state.map = L.map("map", {zoomControl: true, attributionControl: true});
  // The city (or region) in view: a city opens at its own center and zoom, a region fits its box. Tiles, searches
  // and popups ask for the cities in scope only (`?city=`; no scope when every city held is in view).
  state.city = cfg.city.codes.slice();
  var scope = cfg.city.scope.slice();
  function showView(v) {
    if (v.fit && v.bbox) {
      map.fitBounds([[v.bbox[1], v.bbox[0]], [v.bbox[3], v.bbox[2]]], {animate: false});
    } else {
      map.setView([v.center_lat, v.center_lon], v.zoom, {animate: false});
    }
  }
  function cityQuery(sep) { return scope.length ? sep + "city=" + encodeURIComponent(scope.join(",")) : ""; }
  function tileUrl(layer) {
    return cfg.pmtiles ? layer.tiles : layer.tiles.split("?")[0] + cityQuery("?");
  }
  // Basemaps: the online one when this service reaches it, else the one drawn from the city's own layers (an
  // intranet has no internet: no tile is asked for that would fail, and the page says so once, quietly).
  // `?basemap=city|online|none` chooses; the layer switcher offers both.
  var wanted = params.get("basemap") || (cfg.basemap && cfg.basemap.reachable ? "online" : "city");
  // Tiles: the layers switched on at the start, and the city's basemap when the map opens on it, read one tile
  // of the service holding them all (a slow network pays its latency per request: nine layers made nine
  // requests per tile), a layer switched on later its own. Only tiles over the city (or region) in view are
  // asked for. early.js asks for the same addresses.
  var baseIds = cfg.city_basemap.map(function (l) { return l.id; });
  var startIds = cfg.layers.filter(function (l) { return l.visible; }).map(function (l) { return l.id; });
  var tileIds = wanted !== "city" ? startIds : startIds.concat(baseIds.filter(function (id) {
    return startIds.indexOf(id) < 0;
  }));
  var startTiles = null, baseTiles = null;
  function multiUrl(ids) {
    if (cfg.pmtiles) { return "pmtiles://{z}/{x}/{y}"; }
    return cfg.base + "/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=" + encodeURIComponent(ids.join(",")) +
      cityQuery("&");
  }
  function newSources() {
    startTiles = window.petakotaStyle.shared(multiUrl(tileIds), headers());
    baseTiles = tileIds === startIds ? window.petakotaStyle.shared(multiUrl(baseIds), headers()) : startTiles;
  }
  function sourceOf(layer) {
    if (startIds.indexOf(layer.id) >= 0) { return startTiles; }
    return window.petakotaStyle.source(tileUrl(layer), headers());
  }
  function viewBounds(v) {  // the city's box and a margin (null: not known, e.g. no boundary yet)
    return v.bbox ? L.latLngBounds([[v.bbox[1], v.bbox[0]], [v.bbox[3], v.bbox[2]]]).pad(0.1) : null;
  }
  newSources();
  function inView(layer) {  // the layer has features in a city in view (legend entries follow the city)
    return !layer.cities || !state.city.length || layer.cities.some(function (c) {
      return state.city.indexOf(c) >= 0;
    });
  }
  function withCity(inputs) {  // processes: the city in view (or the region's cities) when several are held
    if (cfg.cities.length) { inputs.city = state.city.length === 1 ? state.city[0] : state.city.slice(); }
    return inputs;
  }
  showView(cfg.city);
  map.attributionControl.setPrefix("");
  var bases = {}, cityBase = null, online = null;
  function noteBasemap() {
    if (sessionStorage.getItem("petakota-basemap-note")) { return; }
    sessionStorage.setItem("petakota-basemap-note", "1");
    var note = L.control({position: "bottomleft"});
    note.onAdd = function () {
      var box = el("div", {"class": "pk-basemap-note", role: "status", text: t("basemap_unavailable")});
      box.addEventListener("click", function () { note.remove(); });
      return box;
    };
    note.addTo(map);
    state.results.basemapNote = t("basemap_unavailable");
  }
  if (cfg.city_basemap.length) {
    cityBase = window.petakotaStyle.basemap(cfg.city_basemap, baseTiles, {bounds: viewBounds(cfg.city)});
    bases[t("basemap_city")] = cityBase;
  }
  if (cfg.basemap) {
    online = L.tileLayer(cfg.basemap.url, {attribution: cfg.basemap.attribution, maxZoom: 19, zIndex: 0});
    bases[t("basemap_online")] = online;
    online.on("tileerror", function () {  // reachable from the service, not from this browser
      if (!map.hasLayer(online)) { return; }
      map.removeLayer(online);
      if (cityBase) { cityBase.addTo(map); }
      noteBasemap();
    });
  }
  if (wanted === "online" && online) {
    online.addTo(map);
  } else if (wanted !== "none" && cityBase) {
    cityBase.addTo(map);
    if (cfg.basemap && !cfg.basemap.reachable && !params.get("basemap")) { noteBasemap(); }
  }
  state.basemap = function () {  // test hook: which basemap is shown
    return online && map.hasLayer(online) ? "online" : cityBase && map.hasLayer(cityBase) ? "city" : "none";
  };
  map.attributionControl.addAttribution(cfg.attribution);

  var overlays = {}, grids = {}, pending = {};
  function markLoaded(id) {
    if (state.layersLoaded.indexOf(id) < 0) { state.layersLoaded.push(id); }
    delete pending[id];
    if (Object.keys(pending).length === 0) { state.ready = true; }
  }
  cfg.layers.forEach(function (layer) {
    var grid = window.petakotaStyle.grid(layer, sourceOf(layer), {bounds: viewBounds(cfg.city)});
    grid.petakotaLayer = layer;
    grids[layer.id] = grid;
    grid.on("load", function () { markLoaded(layer.id); });
    var name = title(layer.title) + (layer.illustrative ? " (" + t("illustrative") + ")" : "");
    overlays[name] = grid;
    if (layer.visible) { pending[layer.id] = true; grid.addTo(map); }
  });
  if (Object.keys(pending).length === 0) { state.ready = true; }
  if (!cfg.embed) { L.control.layers(bases, overlays, {collapsed: true, position: "topright"}).addTo(map); }
  state.grids = grids;
  function refreshTiles() {  // every layer reads its tiles again (a key typed: private fields may now come)
    newSources();
    cfg.layers.forEach(function (layer) { grids[layer.id].refresh(sourceOf(layer)); });
    if (cityBase) { cityBase.refresh(baseTiles); }
  }

  var ctx = {cfg: cfg, state: state, params: params, map: map, grids: grids, pending: pending, t: t, num: num,
    day: day, title: title, el: el, apiKey: apiKey, headers: headers, api: api, tileUrl: tileUrl, cityQuery: cityQuery,
    inView: inView, withCity: withCity, refreshTiles: refreshTiles, isDrawing: function () { return false; }, viewKept: false};
  var parts = window.petakotaParts;
  parts.identify(ctx);
  parts.legend(ctx);

  if (cfg.embed) { map.on("click", ctx.identify); return; }

  // --- planner tools ------------------------------------------------------------------------------------------
  var panel = document.getElementById("panel");
  function section(name, children) {
    var s = el("section", {}, [el("h3", {text: name})].concat(children));
    panel.appendChild(s);
    return s;
  }
  ctx.section = section;

  // The city switcher: another city (or the whole region) in place, the panel's state kept; the address follows,
  // so a reload, the language button or a shared link open the same city.
  function switchTo(choice) {
    var v = choice.view;
    state.city = v.codes.slice();
    scope = v.scope.slice();
    // New addresses first (no tile of the old scope is asked for at the new view), then the move, then redraw.
    newSources();
    cfg.layers.forEach(function (layer) {
      grids[layer.id].options.bounds = viewBounds(v);
      grids[layer.id].setSource(sourceOf(layer));
    });
    if (cityBase) { cityBase.options.bounds = viewBounds(v); cityBase.refresh(baseTiles); }
    showView(v);
    state.ready = false;
    cfg.layers.forEach(function (layer) {
      if (map.hasLayer(grids[layer.id])) { pending[layer.id] = true; grids[layer.id].redraw(); }
    });
    if (Object.keys(pending).length === 0) { state.ready = true; }
    document.title = title(choice.title);
    document.getElementById("pk-title").textContent = title(choice.title);
    ctx.fillLegend();
    params.set("city", choice.value);
    history.replaceState(null, "", location.pathname + "?" + params.toString());
    state.results.city = choice.value;
  }
  if (cfg.cities.length) {
    var choices = cfg.cities.slice(), current = state.city.join(",");
    var chosen = choices.filter(function (c) { return c.view.codes.join(",") === current; })[0];
    if (!chosen) {  // a region of some of the cities held, as the address named it
      chosen = {value: current, label: cfg.city.name, title: cfg.title, view: cfg.city};
      choices.splice(choices.length - 1, 0, chosen);
    }
    var pick = el("select", {id: "pk-city"}, choices.map(function (c) {
      return el("option", {value: c.value, text: c.label || t("all_cities")});
    }));
    pick.value = chosen.value;
    pick.addEventListener("change", function () {
      switchTo(choices.filter(function (c) { return c.value === pick.value; })[0]);
    });
    section(t("city"), [pick]);
  }

  // The panel's sections in this order; then what a language switch or a reload kept is taken up again.
  parts.search(ctx);
  parts.draw(ctx);
  parts.siting(ctx);
  parts.project(ctx);
  parts.language(ctx);
  ctx.restore();
}());
