/* PetaKota web map, siting and the project (planner map): candidate sites numbered on the map and in the list,
   the suitability raster with its legend, and a project's progress. A part of map.js, which calls it with the
   shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.siting = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, state = ctx.state, map = ctx.map, el = ctx.el, t = ctx.t, num = ctx.num, title = ctx.title;
  var api = ctx.api, withCity = ctx.withCity, section = ctx.section, refusal = ctx.refusal;

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
  ctx.runSiting = runSiting;
  ctx.showSiting = showSiting;
  ctx.chooseSite = chooseSite;
  ctx.hasSite = function (i) { return !!sites[i]; };
};

window.petakotaParts.project = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, state = ctx.state, map = ctx.map, el = ctx.el, t = ctx.t, num = ctx.num, day = ctx.day;
  var api = ctx.api, section = ctx.section;

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
      if (!ctx.viewKept) { map.fitBounds(L.geoJSON(cfg.project_geometry).getBounds()); }
    }).catch(function (err) { label.textContent = String(err.message || err); });
  }
};
