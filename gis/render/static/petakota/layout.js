/* PetaKota map pages' layout (the planner map and the embed): the panel as a drawer on phones, the legend behind a
   button. It only arranges what map.js and its parts build (#panel, #pk-legend), so it runs before them and picks
   the legend up when it appears. Test hook: window.petakotaLayout. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("petakota-config").textContent);
  function t(k) { return (cfg.messages && cfg.messages[k]) || k; }
  var body = document.body, phone = window.matchMedia("(max-width: 699.98px)");
  // A small embed (an iframe on the city's website) keeps its little map clear: the legend starts collapsed.
  var small = window.matchMedia("(max-width: 699.98px), (max-height: 479.98px)");
  var layout = window.petakotaLayout = {drawerOpen: false, legendOpen: null};

  // --- the panel: a drawer over the map on phones, a side column from 700 px up ------------------------------------
  var panel = document.getElementById("panel"), toggle = document.getElementById("pk-panel-toggle");
  function setDrawer(open, focus) {
    layout.drawerOpen = open;
    body.classList.toggle("pk-drawer-open", open);
    if (toggle) { toggle.setAttribute("aria-expanded", String(open)); }
    if (open && focus && phone.matches) { panel.focus({preventScroll: true}); }
    if (!open && focus && toggle && panel.contains(document.activeElement)) { toggle.focus(); }
  }
  if (panel && toggle) {
    toggle.addEventListener("click", function () { setDrawer(!layout.drawerOpen, true); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && layout.drawerOpen && phone.matches) { setDrawer(false, true); }
    });
    // Tools that need the map (drawing, a search result to look at) close the drawer so the map is free to tap.
    panel.addEventListener("click", function (e) {
      if (!phone.matches) { return; }
      var target = e.target.closest ? e.target.closest("#pk-measure-line, #pk-measure-area, #pk-draw-site, " +
        "#pk-search-results .pk-link") : null;
      if (target) { setDrawer(false, false); }
    });
    // The title bar repeats the map's title (map.js retitles #pk-title when the city changes).
    var heading = document.getElementById("pk-title"), mirror = document.getElementById("pk-titlebar-title");
    if (heading && mirror && window.MutationObserver) {
      new MutationObserver(function () {
        mirror.textContent = heading.textContent;
        mirror.title = heading.textContent;
      }).observe(heading, {childList: true, characterData: true, subtree: true});
    }
    setDrawer(false, false);
  }

  // --- the legend: a button toggles it; collapsed by default on phones and in small embeds ------------------------
  var legendButton = null;
  function setLegend(open) {
    var legend = document.getElementById("pk-legend");
    layout.legendOpen = open;
    if (legend) { legend.classList.toggle("pk-collapsed", !open); }
    if (legendButton) { legendButton.setAttribute("aria-expanded", String(open)); }
  }
  function adoptLegend(legend) {
    if (legend.getAttribute("data-pk-layout")) { return; }
    legend.setAttribute("data-pk-layout", "1");
    legend.setAttribute("tabindex", "0");  // a long legend scrolls: the keyboard can reach and scroll it
    legend.setAttribute("role", "region");
    legend.setAttribute("aria-label", t("legend"));
    if (!legendButton) {
      legendButton = document.createElement("button");
      legendButton.type = "button";
      legendButton.id = "pk-legend-toggle";
      legendButton.className = "pk-legend-toggle leaflet-control";
      legendButton.textContent = t("legend");
      legendButton.title = t("layout_legend_hint");
      legendButton.setAttribute("aria-controls", "pk-legend");
      legendButton.addEventListener("click", function () { setLegend(!layout.legendOpen); });
      // Clicks and wheel turns on the button are the button's, not the map's (no zoom, no identify).
      ["click", "dblclick", "mousedown", "pointerdown", "touchstart", "wheel"].forEach(function (ev) {
        legendButton.addEventListener(ev, function (e) { e.stopPropagation(); });
      });
    }
    // Below the legend, so it stays put when the legend opens above it.
    legend.parentNode.insertBefore(legendButton, legend.nextSibling);
    if (layout.legendOpen === null) { layout.legendOpen = !(cfg.embed ? small.matches : phone.matches); }
    setLegend(layout.legendOpen);
  }
  function findLegend() {
    var legend = document.getElementById("pk-legend");
    if (legend) { adoptLegend(legend); }
  }
  if (window.MutationObserver) {
    new MutationObserver(findLegend).observe(document.getElementById("app"), {childList: true, subtree: true});
  }
  document.addEventListener("DOMContentLoaded", findLegend);
  layout.setDrawer = setDrawer;
  layout.setLegend = setLegend;
}());
