/* PetaKota web map, the legend: the layers on the map now, from their declarations (layout.js puts it behind a
   button on small maps). A part of map.js, which calls it with the shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.legend = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, map = ctx.map, grids = ctx.grids, el = ctx.el, t = ctx.t, title = ctx.title, inView = ctx.inView;

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
  ctx.fillLegend = function () { if (legendBox) { fillLegend(legendBox); } };  // after a city or layer change
};
