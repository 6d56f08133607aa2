/* How a layer is drawn: a protomaps-leaflet canvas layer over the layer's vector tiles, painted from the layer's
   style specification (the same one static maps, explore() and style.json use). Shared by the web map (map.js) and the command-center wall (wall.js). */
(function () {
  "use strict";
  var P = window.protomapsL;
  // A feature's colour: the category's when the style colours by a field, else the layer's.
  function colorOf(s) {
    var colors = {};
    s.categories.forEach(function (c) { colors[c.value] = c.color; });
    return function (z, f) { return (s.by && f && colors[f.props[s.by]]) || s.color; };
  }
  function paintRules(layer) {
    var s = layer.style, fill = colorOf(s), id = layer.id;
    var stroke = s.stroke ? s.stroke : fill;
    if (s.kind === "circle") {
      return [{dataLayer: id, symbolizer: new P.CircleSymbolizer({radius: s.radius, fill: fill,
        opacity: s.fill_opacity, stroke: stroke, width: s.stroke_width})}];
    }
    var outline = {dataLayer: id, symbolizer: new P.LineSymbolizer({color: stroke, width: s.stroke_width,
      opacity: s.stroke_opacity})};
    if (s.kind === "line") { return [outline]; }
    // fill and outline have their own opacities (a zone's colour is light, its edge is not)
    return [{dataLayer: id, symbolizer: new P.PolygonSymbolizer({fill: fill, opacity: s.fill_opacity})}, outline];
  }
  // Tiles come from the service (with the caller's key in a header, never in the address) or, in a static
  // embed, from the page's archive shim; protomaps-leaflet reads any object with getZxy as its source.
  function fetchTile(url, headers, z, x, y, signal) {
    var u = url.replace("{z}", z).replace("{x}", x).replace("{y}", y), early = window.petakotaEarly || {};
    var asked = early[u] || fetch(u, {headers: headers || {}, signal: signal});  // the embed asked early (early.js)
    delete early[u];
    return asked.then(function (r) {
      if (!r.ok) { throw new Error("tile " + r.status); }
      return r.arrayBuffer();
    }).then(function (data) { return {data: data}; });
  }
  function source(url, headers) {
    return {getZxy: function (z, x, y, signal) { return fetchTile(url, headers, z, x, y, signal); }};
  }
  // A tile holding several layers (`/tiles/...?collections=`), read once for all of them: one request per tile
  // instead of one per layer and tile (a slow network pays its latency per request). The last tiles are kept.
  function shared(url, headers) {
    var tiles = {}, order = [];
    return {getZxy: function (z, x, y) {
      var key = z + "/" + x + "/" + y;
      if (!tiles[key]) {
        tiles[key] = fetchTile(url, headers, z, x, y).catch(function (err) { delete tiles[key]; throw err; });
        order.push(key);
        if (order.length > 512) { delete tiles[order.shift()]; }
      }
      return tiles[key];
    }};
  }
  // levelDiff 0: the service's 256 px tiles as they are; it cuts tiles at every zoom (maxDataZoom)
  var TILES = {levelDiff: 0, maxDataZoom: 22};
  // One canvas layer per map layer over a source (`source` or `shared`). `setSource(src)` forgets every tile
  // read (another city, another key, the data changed); `refresh(src)` also draws again.
  function grid(layer, src, options) {
    var opts = {url: src, levelDiff: 0, maxDataZoom: 22, maxZoom: 22, paintRules: paintRules(layer),
                labelRules: [], attribution: "", tileDelay: 0};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    var g = P.leafletLayer(opts);
    g.setSource = function (newSrc) {
      g.views = P.sourcesToViews({url: newSrc, levelDiff: TILES.levelDiff, maxDataZoom: TILES.maxDataZoom});
      g.clearLayout();
    };
    g.refresh = function (newSrc) { g.setSource(newSrc); g.redraw(); };
    return g;
  }
  // The basemap drawn from the city's own layers, for a map without internet: one canvas layer over one source
  // holding them all, light lines under every layer (zIndex 0). `layers`: [{id, fill?, line, width}].
  function basemap(layers, src, options) {
    var rules = [];
    layers.forEach(function (l) {  // the land first, every line over it
      if (l.fill) { rules.push({dataLayer: l.id, symbolizer: new P.PolygonSymbolizer({fill: l.fill})}); }
    });
    layers.forEach(function (l) {
      rules.push({dataLayer: l.id, symbolizer: new P.LineSymbolizer({color: l.line, width: l.width})});
    });
    var opts = {url: src, levelDiff: 0, maxDataZoom: 22, paintRules: rules, labelRules: [], maxZoom: 22,
                attribution: "", tileDelay: 0, zIndex: 0};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    var b = P.leafletLayer(opts);
    b.refresh = function (newSrc) {
      b.views = P.sourcesToViews({url: newSrc, levelDiff: TILES.levelDiff, maxDataZoom: TILES.maxDataZoom});
      b.clearLayout();
      b.redraw();
    };
    return b;
  }
  window.petakotaStyle = {grid: grid, basemap: basemap, source: source, shared: shared};
})();
