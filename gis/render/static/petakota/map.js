/* PetaKota web map: the planners' map (/map) and the public embed (/embed/{id}).
   Everything it loads comes from the service itself (or the PMTiles file next to a static embed);
   the only outside host is the optional basemap. Test hook: window.petakota. */
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
  // Tiles: the layers switched on at the start read one tile of the service holding them all (a slow network
  // pays its latency per request: nine layers made nine requests per tile), a layer switched on later its own;
  // the basemap reads one tile of its layers. Only tiles over the city (or region) in view are asked for.
  var startIds = cfg.layers.filter(function (l) { return l.visible; }).map(function (l) { return l.id; });
  var startTiles = null;
  function multiUrl(ids) {
    if (cfg.pmtiles) { return "pmtiles://{z}/{x}/{y}"; }
    return cfg.base + "/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=" + encodeURIComponent(ids.join(",")) +
      cityQuery("&");
  }
  function newSources() { startTiles = window.petakotaStyle.shared(multiUrl(startIds), headers()); }
  function sourceOf(layer) {
    if (startIds.indexOf(layer.id) >= 0) { return startTiles; }
    return window.petakotaStyle.source(tileUrl(layer), headers());
  }
  function baseSource() {
    return window.petakotaStyle.shared(multiUrl(cfg.city_basemap.map(function (l) { return l.id; })), headers());
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
  // Basemaps: the online one when this service reaches it, else the one drawn from the city's own layers (an
  // intranet has no internet: no tile is asked for that would fail, and the page says so once, quietly).
  // `?basemap=city|online|none` chooses; the layer switcher offers both.
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
    cityBase = window.petakotaStyle.basemap(cfg.city_basemap, baseSource(), {bounds: viewBounds(cfg.city)});
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
  var wanted = params.get("basemap") || (cfg.basemap && cfg.basemap.reachable ? "online" : "city");
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

  // Field evidence in a popup: the feature's attachments the caller may see (thumbnails link to the files) and,
  // with a key, an upload control (the phone's camera or a PDF). Private files are fetched with the key.
  function attachmentsBox(layerId, fid, onChange) {
    var base = "/collections/" + layerId + "/items/" + fid + "/attachments";
    var list = el("ul", {"class": "pk-attachments", id: "pk-attachments"}), box = el("div", {}, [
      el("b", {text: t("attachments")}), list]);
    function open(url, done) {  // a file as a blob URL: <img> and links cannot send the key themselves
      if (!apiKey()) { done(cfg.base + url); return; }
      fetch(cfg.base + url, {headers: headers()}).then(function (r) { return r.blob(); })
        .then(function (b) { done(URL.createObjectURL(b)); });
    }
    function load() {
      return api(base).then(function (r) {
        list.innerHTML = "";
        state.results.attachments = r.attachments;
        if (!r.attachments.length) { list.appendChild(el("li", {text: t("no_attachments")})); }
        r.attachments.forEach(function (a) {
          var link = el("a", {href: "#", "class": "pk-attachment", "data-id": String(a.id), text: a.filename,
            on: {click: function (e) {
              e.preventDefault();
              open("/attachments/" + a.id, function (u) { window.open(u, "_blank"); });
            }}});
          var note = (a.public ? "" : " (" + t("private") + ")") + (a.far ? " - " + t("far_from_feature") : "");
          var item = el("li", {}, [link, el("span", {text: note})]);
          if (a.thumbnail) {
            var img = el("img", {"class": "pk-thumb", alt: a.filename});
            if (onChange) { img.addEventListener("load", onChange); }
            open("/attachments/" + a.id + "/thumbnail", function (u) { img.src = u; });
            link.insertBefore(img, link.firstChild);
          }
          list.appendChild(item);
        });
        if (onChange) { onChange(); }
      }).catch(function (err) { list.textContent = String(err.message || err); });
    }
    if (apiKey()) {
      var status = el("span", {id: "pk-attach-status"});
      var pub = el("input", {type: "checkbox", id: "pk-attach-public"});
      var file = el("input", {type: "file", id: "pk-attach-file", accept: "image/*,application/pdf",
                              capture: "environment"});
      file.addEventListener("change", function () {
        if (!file.files.length) { return; }
        var form = new FormData();
        form.append("file", file.files[0]);
        form.append("public", pub.checked ? "true" : "false");
        status.textContent = t("uploading");
        fetch(cfg.base + base, {method: "POST", headers: headers(), body: form}).then(function (r) {
          return r.json().then(function (j) { if (!r.ok) { throw new Error(j.detail || r.statusText); } return j; });
        }).then(function (a) {
          status.textContent = "";
          file.value = "";
          state.results.attached = a;
          return load();
        }).catch(function (err) { status.textContent = String(err.message || err); });
      });
      box.appendChild(el("label", {"class": "pk-attach", "for": "pk-attach-file", text: t("attach_file")}));
      box.appendChild(file);
      box.appendChild(el("label", {"class": "pk-attach"}, [pub, el("span", {text: " " + t("attach_public")})]));
      box.appendChild(status);
    }
    load();
    return box;
  }

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

  // Identification: what lies under a click on every layer switched on (the layer switcher's state), most
  // specific first, as the service words it for the page's language; each entry opens to its properties.
  state.grids = grids;
  var identifyAsked = 0, sketch = null;
  function layerOf(id) { return cfg.layers.filter(function (l) { return l.id === id; })[0]; }
  function featureName(f) {
    var names = ["nama", "namszn", "name", "nama_subkegiatan", "parcel_id", "kode", "kodszn"];
    for (var i = 0; i < names.length; i++) {
      var named = f.properties.filter(function (p) { return p.name === names[i] && p.value !== null && p.value !== ""; });
      if (named.length) { return named[0].text; }
    }
    return "#" + f.id;
  }
  function identify(e) {
    var ids = cfg.layers.filter(function (l) { return map.hasLayer(grids[l.id]); }).map(function (l) { return l.id; });
    if (!ids.length || cfg.pmtiles) { return; }
    var p = e.latlng, asked = ++identifyAsked;
    api("/identify?lon=" + p.lng.toFixed(7) + "&lat=" + p.lat.toFixed(7) + "&layers=" + encodeURIComponent(ids.join(","))
        + "&zoom=" + map.getZoom() + "&lang=" + state.lang + cityQuery("&")).then(function (r) {
      if (asked !== identifyAsked || (sketch && !sketch.done)) { return; }
      state.results.identify = r;
      showFeatures(p, r.features);
    }).catch(function (err) {
      if (asked === identifyAsked) {
        L.popup().setLatLng(p).setContent(el("div", {"class": "pk-popup", text: t("identify_failed") + ": " +
          (err.message || err)})).openOn(map);
      }
    });
  }
  function showFeatures(p, features) {
    // A popup taller than the map scrolls (a phone's map is short), so its upload control stays reachable.
    // It grows as entries open and attachments load: it is kept in view here (Leaflet's auto-pan skips updates).
    var shown = L.popup({maxWidth: 320, maxHeight: Math.max(160, map.getSize().y - 90), autoPan: cfg.embed});
    var keepInView = function () {
      if (!map.hasLayer(shown)) { return; }
      var focused = document.activeElement;  // update() puts the content in again: keep the keyboard's place
      shown.update();
      if (focused && focused !== document.activeElement && content.contains(focused)) { focused.focus(); }
      if (cfg.embed) { return; }
      var r = shown.getElement().getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
      var dx = Math.min(0, r.left - m.left - 10) || Math.max(0, r.right - m.right + 10);
      var dy = Math.min(0, r.top - m.top - 10) || Math.max(0, r.bottom - m.bottom + 10);
      if (dx || dy) { map.panBy([dx, dy], {animate: false}); }
    };
    var content = el("div", {"class": "pk-popup"}, [el("b", {text: t("identify_here")})]);
    if (!features.length) { content.appendChild(el("p", {text: t("identify_none")})); }
    var list = el("ul", {"class": "pk-identify", id: "pk-identify"}),
      attachments = null, openFirst = null;
    features.forEach(function (f, i) {
      var layer = layerOf(f.layer) || {};
      var rows = f.properties.map(function (prop) {
        return el("tr", prop.private ? {"class": "pk-private", "data-field": prop.name} : {"data-field": prop.name},
                  [el("th", {text: prop.label}), el("td", {text: prop.text})]);
      });
      var body = el("div", {"class": "pk-feature-body", id: "pk-feature-" + i}, [el("table", {}, rows)]);
      var head = el("button", {type: "button", "class": "pk-feature", "aria-expanded": "false",
        "aria-controls": "pk-feature-" + i, "data-layer": f.layer, "data-id": String(f.id),
        text: f.layer_title + (layer.illustrative ? " (" + t("illustrative") + ")" : "") + ": " + featureName(f)});
      function open(expand) {
        head.setAttribute("aria-expanded", expand ? "true" : "false");
        body.hidden = !expand;
        if (expand && !cfg.embed) {  // the chosen feature's attachments (one list at a time)
          if (attachments) { attachments.parentNode.removeChild(attachments); }
          attachments = attachmentsBox(f.layer, f.id, keepInView);
          body.appendChild(attachments);
        }
        if (expand) { state.results.popup = {layer: f.layer, id: f.id}; }
        keepInView();
      }
      // a button: focusable, and Enter or Space open and close it like a click
      head.addEventListener("click", function () { open(head.getAttribute("aria-expanded") !== "true"); });
      body.hidden = true;
      list.appendChild(el("li", {}, [head, body]));
      if (i === 0) { openFirst = open; }
    });
    content.appendChild(list);
    shown.setLatLng(p).setContent(content).openOn(map);
    if (openFirst) { openFirst(true); } else { keepInView(); }
  }

  // Legend, from the layer declarations: the layers on the map now.
  var legend = L.control({position: cfg.embed ? "bottomleft" : "bottomright"});
  var legendBox = null;
  function fillLegend(box) {
    box.innerHTML = "";
    box.appendChild(el("b", {text: t("legend")}));
    cfg.layers.filter(function (l) { return map.hasLayer(grids[l.id]) && inView(l); }).forEach(function (layer) {
      var entries = layer.style.legend;
      box.appendChild(el("div", {"class": "pk-legend-title", text: title(layer.title) +
        (layer.illustrative ? " (" + t("illustrative") + ")" : "")}));
      entries.forEach(function (e) {
        box.appendChild(el("div", {"class": "pk-legend-row"}, [
          el("span", {"class": "pk-swatch", vars: {"--pk-color": e.color}}), el("span", {text: title(e.label)})]));
      });
    });
  }
  legend.onAdd = function () {
    var box = legendBox = el("div", {"class": "pk-legend", id: "pk-legend"});
    fillLegend(box);
    map.on("overlayadd overlayremove", function () { fillLegend(box); });
    return box;
  };
  legend.addTo(map);
  // On a phone the legend would cover an open popup (map.css hides it meanwhile).
  map.on("popupopen", function () { L.DomUtil.addClass(map.getContainer(), "pk-popup-open"); });
  map.on("popupclose", function () { L.DomUtil.removeClass(map.getContainer(), "pk-popup-open"); });

  if (cfg.embed) { map.on("click", identify); return; }

  // --- planner tools ------------------------------------------------------------------------------------------
  var panel = document.getElementById("panel");
  function section(name, children) {
    var s = el("section", {}, [el("h3", {text: name})].concat(children));
    panel.appendChild(s);
    return s;
  }
  var out = el("div", {id: "pk-output", "class": "pk-output"});

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
    if (cityBase) { cityBase.options.bounds = viewBounds(v); cityBase.refresh(baseSource()); }
    showView(v);
    state.ready = false;
    cfg.layers.forEach(function (layer) {
      if (map.hasLayer(grids[layer.id])) { pending[layer.id] = true; grids[layer.id].redraw(); }
    });
    if (Object.keys(pending).length === 0) { state.ready = true; }
    document.title = title(choice.title);
    document.getElementById("pk-title").textContent = title(choice.title);
    if (legendBox) { fillLegend(legendBox); }
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

  // Search as you type: places, zones, programmes and named features (prefix and typo-tolerant, /search);
  // arrows move through the results, Enter or a click zooms to one and outlines it.
  var results = el("ul", {id: "pk-search-results", role: "listbox", "aria-label": t("search_any")});
  var search = el("input", {id: "pk-search", type: "search", placeholder: t("search_any"), autocomplete: "off",
    role: "combobox", "aria-autocomplete": "list", "aria-controls": "pk-search-results", "aria-expanded": "false",
    title: t("search_hint")});
  var found = [], active = -1, searchTimer = null, searchAsked = 0, searchShape = null;
  function runSearch() {
    clearTimeout(searchTimer);
    searchTimer = null;
    var q = search.value.trim(), asked = ++searchAsked;
    if (!q) { results.innerHTML = ""; found = []; return Promise.resolve(); }
    return (/^[0-9][0-9.]*$/.test(q) ? byCode(q) : api("/search?limit=10&lang=" + state.lang + "&q=" +
                                                      encodeURIComponent(q) + cityQuery("&"))).then(function (r) {
      if (asked !== searchAsked) { return; }
      found = r.results;
      active = -1;
      state.results.searchResults = r;
      results.innerHTML = "";
      if (!found.length) { results.appendChild(el("li", {text: t("noresult")})); }
      found.forEach(function (res, i) {
        results.appendChild(el("li", {"class": "pk-link", role: "option", id: "pk-search-" + i, "aria-selected": "false",
          text: res.text, on: {mousedown: function (e) { e.preventDefault(); }, click: function () { choose(i); }}}));
      });
      search.setAttribute("aria-expanded", found.length ? "true" : "false");
    }).catch(function (err) { results.innerHTML = ""; results.appendChild(el("li", {text: err.message || err})); });
  }
  function byCode(q) {  // a Kemendagri code prefix (12.75.01): the kelurahan/desa it names, as /search answers
    return api("/collections/kelurahan/items?limit=10&filter=" + encodeURIComponent("kode LIKE '" + q + "%'") +
               cityQuery("&")).then(function (fc) {
      return {results: fc.features.map(function (f) {
        var b = L.geoJSON(f).getBounds();
        return {collection: "kelurahan", id: f.id, name: f.properties.nama, text: f.properties.nama + " (" +
          f.properties.kode + ")", bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
      })};
    });
  }
  function mark(i) {
    active = i;
    Array.prototype.forEach.call(results.children, function (li, j) {
      li.setAttribute("aria-selected", j === i ? "true" : "false");
      li.classList.toggle("pk-active", j === i);
    });
    if (i >= 0) { search.setAttribute("aria-activedescendant", "pk-search-" + i); }
  }
  function choose(i) {
    var res = found[i];
    if (!res) { return; }
    mark(i);
    if (searchShape) { map.removeLayer(searchShape); }
    var outline = {color: "#00FFFF", weight: 3, fill: false};
    if (res.bbox) {
      var b = res.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {maxZoom: 17, animate: false});
      searchShape = L.rectangle([[b[1], b[0]], [b[3], b[2]]], outline).addTo(map);
    } else if (res.point) {
      map.setView([res.point[1], res.point[0]], 17, {animate: false});
    }
    if (res.id !== null && res.id !== undefined && res.collection !== "programmes") {  // the shape itself
      api("/collections/" + res.collection + "/items/" + res.id).then(function (f) {
        if (state.results.search !== res) { return; }
        if (searchShape) { map.removeLayer(searchShape); }
        searchShape = L.geoJSON(f, {style: outline}).addTo(map);
      }).catch(function () {});
    }
    state.results.search = res;
  }
  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  search.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var n = found.length;
      if (n) { mark(e.key === "ArrowDown" ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1)); }
    } else if (e.key === "Enter") {
      e.preventDefault();
      var pick = function () { choose(active >= 0 ? active : 0); };
      if (searchTimer) { runSearch().then(pick); } else { pick(); }
    } else if (e.key === "Escape") {
      results.innerHTML = "";
      found = [];
      search.setAttribute("aria-expanded", "false");
    }
  });
  section(t("search_title"), [search, results]);

  // Drawing: click to add points, "Finish" to measure / analyse.
  var drawn = null;  // the shape on the map; `sketch` ({mode, points, done}) is what is being drawn
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
  var SAVED = "petakota-sketch", SWITCH = "petakota-switch", viewKept = false;
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
    if (!sketch || sketch.done) { identify(e); return; }
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

  // Siting: candidate sites and the suitability raster. Each candidate is numbered on the map and in the list,
  // and choosing it in one shows it in the other.
  var siteOut = el("ol", {id: "pk-sites"});
  var siteLayers = [], sites = [];
  var SITE = {color: "#7A00CC", weight: 3, fillOpacity: 0.1}, SITE_CHOSEN = {color: "#FF6F00", weight: 5, fillOpacity: 0.2};
  function chooseSite(i, zoom) {
    sites.forEach(function (site, j) {
      site.shape.setStyle(j === i ? SITE_CHOSEN : SITE);
      site.item.classList.toggle("pk-active", j === i);
      site.item.setAttribute("aria-current", j === i ? "true" : "false");
    });
    sites[i].shape.bringToFront();
    if (zoom) { map.fitBounds(sites[i].shape.getBounds(), {maxZoom: 16, animate: false}); }
    sites[i].item.scrollIntoView({block: "nearest"});
    state.results.site = i + 1;
  }
  function showSites(r) {
    siteLayers.forEach(function (l) { map.removeLayer(l); });
    siteLayers = [L.tileLayer(cfg.base + r.suitability_raster.tiles, {opacity: 0.6, maxZoom: 22}).addTo(map)];
    siteOut.innerHTML = "";
    sites = r.candidates.features.map(function (f, i) {
      var n = i + 1, p = f.properties;
      var shape = L.geoJSON(f, {style: SITE}).addTo(map);
      var marker = L.marker(shape.getBounds().getCenter(), {keyboard: true, title: t("site_number") + " " + n,
        icon: L.divIcon({className: "pk-site-number", iconSize: [24, 24],
          html: '<span class="pk-site-badge">' + n + "</span>"})}).addTo(map);
      var item = el("li", {"class": "pk-site", "data-site": String(n)}, [el("button", {type: "button",
        "class": "pk-link", text: t("site_number") + " " + n + (p.area_ha !== undefined ? ": " + num(p.area_ha, 1) +
          " ha" : ""), on: {click: function () { chooseSite(i, true); }}}),
        el("p", {text: p["explanation_" + state.lang] || ""})]);
      siteOut.appendChild(item);
      shape.on("click", function (e) { L.DomEvent.stop(e); chooseSite(i, false); });
      marker.on("click", function () { chooseSite(i, false); });
      siteLayers.push(shape, marker);
      return {shape: shape, marker: marker, item: item};
    });
  }
  // The suitability raster's legend: its colour ramp from the lowest to the highest value, in the panel.
  var rasterBox = el("div", {id: "pk-raster-legend", "class": "pk-raster-legend"});
  function rasterLegend(doc) {
    state.results.rasterLegend = doc;
    rasterBox.innerHTML = "";
    var g = doc.legend, rows = [];
    if (g.type === "categorical") {
      rows = g.classes.map(function (c) {
        return el("div", {"class": "pk-legend-row"}, [el("span", {"class": "pk-swatch", vars: {"--pk-color":
          c.color}}), el("span", {text: title(c.label)})]);
      });
    } else {
      rows = [el("div", {"class": "pk-ramp", vars: {"--pk-ramp": "linear-gradient(to right," +
        g.stops.map(function (s) { return s.color; }).join(",") + ")"}}),
        el("div", {"class": "pk-ramp-ends"}, [
          el("span", {text: num(g.rescale[0], 2)}), el("span", {text: num(g.rescale[1], 2)})])];
    }
    [el("b", {text: title(doc.title) + (doc.units ? " (" + doc.units + ")" : "")})].concat(rows)
      .forEach(function (e) { rasterBox.appendChild(e); });
  }
  section(t("siting"), [
    el("button", {id: "pk-siting", text: t("siting") + " (" + num(cfg.target_ha) + " ha)", on: {click: runSiting}}),
    rasterBox, siteOut
  ]);
  function runSiting() {
    siteOut.textContent = t("running");
    return api("/processes/site-suitability/execution", {inputs: withCity({target_ha: cfg.target_ha})})
      .then(showSiting).catch(function (err) { siteOut.textContent = refusal(err); });
  }
  function showSiting(r) {  // a result just computed, or the one kept across a language switch
    state.results.siting = r;
    showSites(r);
    return api("/rasters/" + r.suitability_raster.id).then(rasterLegend);
  }

  // Project panel: progress towards the target, milestones.
  if (cfg.project) {
    var bar = el("div", {"class": "pk-bar"}, [el("div", {"class": "pk-bar-fill", id: "pk-progress-fill"})]);
    var label = el("p", {id: "pk-progress-label"});
    var ms = el("ul", {id: "pk-milestones"});
    section(t("progress"), [bar, label, el("h4", {text: t("milestones")}), ms]);
    api("/processes/project-progress/execution", {inputs: {project: cfg.project}}).then(function (r) {
      state.results.progress = r;
      document.getElementById("pk-progress-fill").style.width = Math.min(100, 100 * r.acquired_share) + "%";
      label.textContent = num(r.acquired_ha, 1) + " ha " + t("acquired") + " / " + num(r.target_ha) + " ha " +
        t("target") + " (" + num(100 * r.acquired_share, 0) + " %)";
      r.milestones.forEach(function (m) {
        ms.appendChild(el("li", {"class": "pk-ms-" + m.state, text: day(m.planned_date) + " " + m.nama + ": " + t(m.state)}));
      });
      if (!viewKept) { map.fitBounds(L.geoJSON(cfg.project_geometry).getBounds()); }
    }).catch(function (err) { label.textContent = String(err.message || err); });
  }

  // API key and language. A key counts at once, in place: requests send it, tiles are asked again with it. The
  // language opens the page again (the server writes it in its language): what is drawn and typed is kept (save)
  // and drawn again (restore).
  var key = el("input", {id: "pk-key", type: "password", placeholder: t("key"), value: apiKey() || ""});
  key.addEventListener("change", function () {
    sessionStorage.setItem("petakota-key", key.value.trim());
    newSources();
    cfg.layers.forEach(function (layer) { grids[layer.id].refresh(sourceOf(layer)); });
    state.results.key = !!key.value.trim();
  });
  section(t("key"), [key, el("button", {id: "pk-lang", text: t("lang"), on: {click: function () {
    save();
    keepForSwitch();
    params.set("lang", state.lang === "id" ? "en" : "id");
    location.search = params.toString();
  }}})]);

  // A language switch also keeps the view, the layers switched on and the siting result (the candidates carry
  // their explanations in both languages); the new page takes them once. A result too big for the session's
  // storage is computed again.
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
    if (legendBox) { fillLegend(legendBox); }
    map.setView(kept.center, kept.zoom, {animate: false});
    viewKept = true;
    var sited = kept.siting ? showSiting(kept.siting) : (kept.rerun ? runSiting() : null);
    if (sited && kept.site) { sited.then(function () { if (sites[kept.site - 1]) { chooseSite(kept.site - 1, false); } }); }
    state.results.switched = true;
  }());

  (function restore() {
    var kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(SAVED) || "null"); } catch (e) { kept = null; }
    if (!kept) { return; }
    if (kept.kbli) { kbli.value = kept.kbli; }
    if (kept.activity && activity.querySelector('option[value="' + kept.activity.replace(/"/g, "") + '"]')) {
      activity.value = kept.activity;
    }
    if (kept.search) { search.value = kept.search; runSearch(); }
    if (kept.sketch && kept.sketch.points.length) {
      sketch = {mode: kept.sketch.mode, done: kept.sketch.done, points: kept.sketch.points.map(function (p) {
        return L.latLng(p[0], p[1]);
      })};
      redraw();
      if (sketch.done) { analyse(sketch); } else { map.getContainer().style.cursor = "crosshair"; hint(); }
    }
    state.results.restored = true;
  }());
}());
