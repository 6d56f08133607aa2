/* How a layer is drawn on a Leaflet.VectorGrid canvas, from the layer's style specification (the same one static
   maps, explore() and style.json use). Shared by the web map (map.js) and the command-center wall (wall.js). */
(function () {
  "use strict";
  // A feature's Leaflet path options: the category's colour when the style colours by a field, else the layer's.
  function styleFor(layer) {
    var s = layer.style, colors = {};
    s.categories.forEach(function (c) { colors[c.value] = c.color; });
    return function (props) {
      var c = (s.by && colors[props[s.by]]) || s.color, stroke = s.stroke || c;
      if (s.kind === "circle") {
        return {radius: s.radius, fill: true, fillColor: c, fillOpacity: s.fill_opacity, color: stroke,
                weight: s.stroke_width, opacity: s.stroke_opacity};
      }
      if (s.kind === "line") { return {color: stroke, weight: s.stroke_width, opacity: s.stroke_opacity}; }
      return {fill: true, fillColor: c, fillOpacity: s.fill_opacity, color: stroke, weight: s.stroke_width,
              opacity: s.stroke_opacity};
    };
  }
  // One vector-tile grid per layer, as the web map builds it: a tile holding several layers (PMTiles) draws only
  // this one (an empty style list hides the rest).
  function grid(layer, url, allLayers, options) {
    var styles = {};
    allLayers.forEach(function (other) { styles[other.id] = []; });
    styles[layer.id] = styleFor(layer);
    var opts = {vectorTileLayerStyles: styles, interactive: false, maxNativeZoom: 22, maxZoom: 22,
                rendererFactory: L.canvas.tile, getFeatureId: function (f) { return f.id; }};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    return L.vectorGrid.protobuf(url, opts);
  }
  window.petakotaStyle = {styleFor: styleFor, grid: grid};
})();
