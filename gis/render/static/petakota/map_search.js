/* PetaKota web map, search as one types (planner map): places, zones, programmes and named features. A part of
   map.js, which calls it with the shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.search = function (ctx) {
  "use strict";
  var state = ctx.state, map = ctx.map, el = ctx.el, t = ctx.t, api = ctx.api, cityQuery = ctx.cityQuery;
  var section = ctx.section;

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
  ctx.searchInput = search;  // kept with the drawing (map_draw.js's save and restore)
  ctx.runSearch = runSearch;
};
