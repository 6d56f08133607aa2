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
      if (k === "text") { e.textContent = attrs[k]; } else if (k === "on") {
        Object.keys(attrs.on).forEach(function (ev) { e.addEventListener(ev, attrs.on[ev]); });
      } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { e.appendChild(c); } });
    return e;
  }
  function apiKey() { return cfg.embed ? null : sessionStorage.getItem("petakota-key"); }
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
        if (!r.ok) { throw new Error(j.detail || r.statusText); }
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

  // Leaflet.VectorGrid 1.3 predates Leaflet 1.9, whose canvas keeps clicks from the map and lacks
  // DomEvent.fakeStop: hand every click on a tile canvas to the map (the grids are drawn, not clicked).
  L.Canvas.Tile.prototype._onClick = function (e) { this._fireEvent(false, e); };
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
  if (cfg.basemap && params.get("basemap") !== "none") {
    L.tileLayer(cfg.basemap.url, {attribution: cfg.basemap.attribution, maxZoom: 19}).addTo(map);
  }
  map.attributionControl.addAttribution(cfg.attribution);

  function shown(field, v) {
    if (v === null || v === undefined || v === "") { return "\u2014"; }
    if (typeof v === "number") { return num(v); }
    if (field.type === "date") { return day(v); }
    return String(v);
  }
  function popup(layer, props) {
    var rows = (layer.fields || []).filter(function (f) { return props[f.name] !== undefined; }).map(function (f) {
      return el("tr", {}, [el("th", {text: title(f.title)}), el("td", {text: shown(f, props[f.name])})]);
    });
    var head = title(layer.title) + (layer.illustrative ? " (" + t("illustrative") + ")" : "");
    return el("div", {"class": "pk-popup"}, [el("b", {text: head}), el("table", {}, rows)]);
  }

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
    var grid = window.petakotaStyle.grid(layer, tileUrl(layer), cfg.layers, {fetchOptions: {headers: headers()}});
    grid.petakotaLayer = layer;
    grids[layer.id] = grid;
    grid.on("load", function () { markLoaded(layer.id); });
    var name = title(layer.title) + (layer.illustrative ? " (" + t("illustrative") + ")" : "");
    overlays[name] = grid;
    if (layer.visible) { pending[layer.id] = true; grid.addTo(map); }
  });
  if (Object.keys(pending).length === 0) { state.ready = true; }
  if (!cfg.embed) { L.control.layers(null, overlays, {collapsed: true, position: "topright"}).addTo(map); }

  // Popups: ask the service what lies under the click, topmost visible layer first (public fields, or all
  // with a key). Outline-only layers (city, kecamatan) are skipped: they would cover everything.
  function identify(e) {
    var tol = 4 * (40075016 / Math.pow(2, map.getZoom() + 8)) / 111320;  // ~4 pixels, in degrees
    var p = e.latlng, hits = Object.keys(overlays).map(function (k) { return overlays[k]; })
      .filter(function (g) {
        var l = g.petakotaLayer;
        return map.hasLayer(g) && (l.style.kind !== "fill" || l.style.fill_opacity > 0);
      }).reverse();
    if (!hits.length || cfg.pmtiles) { return; }
    var bbox = [p.lng - tol, p.lat - tol, p.lng + tol, p.lat + tol].join(",");
    Promise.all(hits.map(function (g) {
      var l = g.petakotaLayer, q = l.geometry_type.indexOf("Polygon") >= 0
        ? "filter=" + encodeURIComponent("S_INTERSECTS(geometry, POINT(" + p.lng + " " + p.lat + "))")
        : "bbox=" + bbox;
      return api("/collections/" + l.id + "/items?limit=1&" + q + cityQuery("&")).catch(function () { return {features: []}; });
    })).then(function (answers) {
      for (var i = 0; i < answers.length; i++) {
        if (answers[i].features.length) {
          var layer = hits[i].petakotaLayer, feature = answers[i].features[0];
          state.results.popup = {layer: layer.id, id: feature.id};
          // A popup taller than the map scrolls (a phone's map is short), so its upload control stays reachable.
          // It grows as its attachments load: it is kept in view here (Leaflet's auto-pan skips every other update).
          var content = popup(layer, feature.properties), shown = L.popup({
            maxWidth: 280, maxHeight: Math.max(160, map.getSize().y - 90), autoPan: cfg.embed});
          var keepInView = function () {
            var r = shown.getElement().getBoundingClientRect(), m = map.getContainer().getBoundingClientRect();
            var dx = Math.min(0, r.left - m.left - 10) || Math.max(0, r.right - m.right + 10);
            var dy = Math.min(0, r.top - m.top - 10) || Math.max(0, r.bottom - m.bottom + 10);
            if (dx || dy) { map.panBy([dx, dy], {animate: false}); }
          };
          if (!cfg.embed) {
            content.appendChild(attachmentsBox(layer.id, feature.id, function () {
              if (map.hasLayer(shown)) { shown.update(); keepInView(); }
            }));
          }
          shown.setLatLng(p).setContent(content).openOn(map);
          if (!cfg.embed) { keepInView(); }
          return;
        }
      }
    });
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
          el("span", {"class": "pk-swatch", style: "background:" + e.color}), el("span", {text: title(e.label)})]));
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
    cfg.layers.forEach(function (layer) { grids[layer.id].setUrl(tileUrl(layer), true); });
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

  // Search by kelurahan name or Kemendagri code.
  var results = el("ul", {id: "pk-search-results"});
  var search = el("input", {id: "pk-search", type: "search", placeholder: t("search")});
  search.addEventListener("change", function () {
    var q = search.value.trim().replace(/'/g, "''");
    if (!q) { return; }
    var filter = /^[0-9.]+$/.test(q) ? "kode LIKE '" + q + "%'" : "CASEI(nama) LIKE CASEI('%" + q + "%')";
    api("/collections/kelurahan/items?limit=10&filter=" + encodeURIComponent(filter) + cityQuery("&"))
      .then(function (fc) {
      results.innerHTML = "";
      if (!fc.features.length) { results.appendChild(el("li", {text: t("noresult")})); }
      fc.features.forEach(function (f) {
        var item = el("li", {text: f.properties.nama + " (" + f.properties.kode + ")", "class": "pk-link"});
        item.addEventListener("click", function () {
          var shape = L.geoJSON(f, {style: {color: "#00FFFF", weight: 3, fill: false}}).addTo(map);
          map.fitBounds(shape.getBounds());
          state.results.search = f.properties.kode;
        });
        results.appendChild(item);
      });
    });
  });
  section(t("search"), [search, results]);

  // Drawing: click to add points, "Finish" to measure / analyse.
  var drawing = null, drawn = null;
  var activity = el("select", {id: "pk-activity"}, (cfg.activities || []).map(function (a) {
    return el("option", {value: a.kegiatan, text: a.kegiatan + (a.kbli ? " (KBLI " + a.kbli + ")" : "")});
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
      r.kbli.forEach(function (k) { kbliList.appendChild(el("option", {value: k.kode, label: k.judul})); });
    }).catch(function () {});
  }}});
  function conformityInputs(geom) {
    var code = kbli.value.trim();
    return withCity(/^[0-9]{2,5}$/.test(code) ? {geometry: geom, kbli: code} : {geometry: geom, activity: activity.value});
  }
  function conformityDetails(r) {
    var list = el("ul", {id: "pk-zones"});
    r.zones.forEach(function (z) {
      var rule = z.ketentuan === "unregulated" ? t("unregulated") : z.ketentuan;
      list.appendChild(el("li", {text: (z.namszn || z.kodszn) + " (" + z.kodszn + "): " + num(100 * z.share, 0) +
        " % - " + rule}));
    });
    (r.warnings || []).forEach(function (w) {
      list.appendChild(el("li", {"class": "pk-warning", text: title(w.message)}));
    });
    return list;
  }
  function startDraw(mode) {
    if (drawn) { map.removeLayer(drawn); drawn = null; }
    drawing = {mode: mode, points: []};
    map.getContainer().style.cursor = "crosshair";
  }
  map.on("click", function (e) {
    if (!drawing) { identify(e); return; }
    drawing.points.push(e.latlng);
    if (drawn) { map.removeLayer(drawn); }
    drawn = (drawing.mode === "line" ? L.polyline(drawing.points) : L.polygon(drawing.points))
      .setStyle({color: "#00B3FF", weight: 3}).addTo(map);
  });
  function geojsonOf(d) {
    var pts = d.points.map(function (p) { return [p.lng, p.lat]; });
    if (d.mode === "line") { return {type: "LineString", coordinates: pts}; }
    return {type: "Polygon", coordinates: [pts.concat([pts[0]])]};
  }
  function finish() {
    if (!drawing || drawing.points.length < (drawing.mode === "line" ? 2 : 3)) { return; }
    var d = drawing, geom = geojsonOf(d);
    drawing = null;
    map.getContainer().style.cursor = "";
    out.textContent = t("running");
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
          text: t("verdict") + ": " + (r[0].verdict === "unregulated" ? t("unregulated") : r[0].verdict) + " - " +
            r[0].explanation[state.lang]}));
        out.appendChild(conformityDetails(r[0]));
        out.appendChild(el("p", {id: "pk-suitability",
          text: t("suitability") + ": " + r[1].explanation[state.lang]}));
      });
    }).catch(function (err) { out.textContent = String(err.message || err); });
  }
  section(t("measureArea"), [
    el("button", {id: "pk-measure-line", text: t("measureLine"), on: {click: function () { startDraw("line"); }}}),
    el("button", {id: "pk-measure-area", text: t("measureArea"), on: {click: function () { startDraw("area"); }}}),
    el("button", {id: "pk-draw-site", text: t("drawSite"), on: {click: function () { startDraw("site"); }}}),
    el("label", {text: t("activity")}), activity,
    el("label", {text: t("kbli"), "for": "pk-kbli"}), kbli, kbliList,
    el("button", {id: "pk-finish", text: t("finish"), on: {click: finish}}), out
  ]);

  // Siting: candidate sites and the suitability raster.
  var siteOut = el("ol", {id: "pk-sites"});
  var siteLayers = [];
  section(t("siting"), [
    el("button", {id: "pk-siting", text: t("siting") + " (" + num(cfg.target_ha) + " ha)", on: {click: function () {
      siteOut.textContent = t("running");
      api("/processes/site-suitability/execution", {inputs: withCity({target_ha: cfg.target_ha})}).then(function (r) {
        state.results.siting = r;
        siteLayers.forEach(function (l) { map.removeLayer(l); });
        siteLayers = [
          L.tileLayer(cfg.base + r.suitability_raster.tiles, {opacity: 0.6, maxZoom: 22}).addTo(map),
          L.geoJSON(r.candidates, {style: {color: "#7A00CC", weight: 3, fillOpacity: 0.1}}).addTo(map)
        ];
        siteOut.innerHTML = "";
        r.candidates.features.forEach(function (f) {
          siteOut.appendChild(el("li", {text: f.properties["explanation_" + state.lang]}));
        });
      }).catch(function (err) { siteOut.textContent = String(err.message || err); });
    }}}), siteOut
  ]);

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
      map.fitBounds(L.geoJSON(cfg.project_geometry).getBounds());
    }).catch(function (err) { label.textContent = String(err.message || err); });
  }

  // API key and language.
  var key = el("input", {id: "pk-key", type: "password", placeholder: t("key"), value: apiKey() || ""});
  key.addEventListener("change", function () { sessionStorage.setItem("petakota-key", key.value); location.reload(); });
  section(t("key"), [key, el("button", {id: "pk-lang", text: t("lang"), on: {click: function () {
    params.set("lang", state.lang === "id" ? "en" : "id");  // the server renders the page in that language
    location.search = params.toString();
  }}})]);
}());
