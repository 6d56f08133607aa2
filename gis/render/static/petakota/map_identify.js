/* PetaKota web map, identification: a click lists what lies under it on every layer switched on, each entry opens
   to its properties and (planner map) the feature's attachments. A part of map.js, which calls it with the
   shared context described in its header. */
window.petakotaParts = window.petakotaParts || {};
window.petakotaParts.identify = function (ctx) {
  "use strict";
  var cfg = ctx.cfg, state = ctx.state, map = ctx.map, grids = ctx.grids, el = ctx.el, t = ctx.t, api = ctx.api;
  var apiKey = ctx.apiKey, headers = ctx.headers, cityQuery = ctx.cityQuery;

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

  // Identification: what lies under a click on every layer switched on (the layer switcher's state), most
  // specific first, as the service words it for the page's language; each entry opens to its properties.
  var identifyAsked = 0;
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
      if (asked !== identifyAsked || ctx.isDrawing()) { return; }  // a newer click, or a drawing begun since
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
  ctx.identify = identify;
};
