/* The public embed's first tiles, asked for while the scripts are still on their way: on a slow network each
   request costs a round trip, and the tiles would otherwise wait for every script. The map fits the city to the
   frame, so the zoom and the tiles over the city are known from the frame's size alone (as Leaflet's fitBounds
   works them out). The page inlines this script; style.js takes the answers from window.petakotaEarly. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("petakota-config").textContent), box = cfg.city.bbox;
  var frame = document.getElementById("map");
  if (!box || !frame || cfg.pmtiles) { return; }
  function px(lon, lat, z) {  // Web Mercator pixel at zoom z
    var s = 256 * Math.pow(2, z), r = Math.sin(lat * Math.PI / 180);
    return [(lon + 180) / 360 * s, (0.5 - Math.log((1 + r) / (1 - r)) / (4 * Math.PI)) * s];
  }
  var a = px(box[0], box[3], 0), b = px(box[2], box[1], 0);
  var scale = Math.min(frame.clientWidth / (b[0] - a[0]), frame.clientHeight / (b[1] - a[1]));
  var z = Math.max(0, Math.min(22, Math.floor(Math.log(scale) / Math.LN2)));
  // the tiles over the city's box and the map's margin (map.js: viewBounds pads it by a tenth)
  var dx = (box[2] - box[0]) * 0.1, dy = (box[3] - box[1]) * 0.1;
  var nw = px(box[0] - dx, box[3] + dy, z), se = px(box[2] + dx, box[1] - dy, z);
  var scope = cfg.city.scope.length ? "&city=" + encodeURIComponent(cfg.city.scope.join(",")) : "";
  function multiUrl(ids) {  // as map.js asks: one tile holding the layers
    return cfg.base + "/tiles/WebMercatorQuad/{z}/{x}/{y}?collections=" + encodeURIComponent(ids.join(",")) + scope;
  }
  // the layers switched on, and the city's own basemap when the page opens on it (map.js: no online basemap
  // reachable, or ?basemap=city), in map.js's order: the same addresses
  var asked = new URLSearchParams(location.search).get("basemap");
  var wanted = asked || (cfg.basemap && cfg.basemap.reachable ? "online" : "city");
  var ids = cfg.layers.filter(function (l) { return l.visible; }).map(function (l) { return l.id; });
  if (wanted === "city") {
    cfg.city_basemap.forEach(function (l) { if (ids.indexOf(l.id) < 0) { ids.push(l.id); } });
  }
  var urls = [multiUrl(ids)];
  var early = window.petakotaEarly = {};
  urls.forEach(function (url) {
    for (var x = Math.floor(nw[0] / 256); x <= Math.floor(se[0] / 256); x++) {
      for (var y = Math.floor(nw[1] / 256); y <= Math.floor(se[1] / 256); y++) {
        var u = url.replace("{z}", z).replace("{x}", x).replace("{y}", y);
        early[u] = fetch(u);
      }
    }
  });
})();
