/* The near-me page's map: the requests found, over the city and its community areas.
 *
 * The list beside it works without this file, and stays the accessible way through
 * the results. The map asks the server for every request matching the page's
 * choices inside its view (bbox and zoom), grouped into cells: a request alone
 * is a marker that opens it; a busy cell is one marker with its count, which
 * zooms in on a click, a tap or Enter. Thousands of requests are a few dozen markers.
 */
(function () {
  "use strict";

  var box = document.getElementById("near-map");
  if (!box || typeof L === "undefined" || !window.cityMap) {
    return;
  }
  var text = box.dataset;
  var points = JSON.parse(text.points || "[]");
  var asked = 0;
  var timer = null;
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", text.label);
  var map = window.cityMap(box, { keyboard: true }, false, function (outlines) {
    outlines.bringToBack();
  });
  var markers = L.layerGroup().addTo(map);

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  // Leaflet turns Enter on a focused marker into "keypress", not "click": both act.
  function acting(marker, act) {
    marker.on("click", act);
    marker.on("keypress", function (event) {
      if (event.originalEvent.key === "Enter") {
        act();
      }
    });
    return marker;
  }

  function labelled(marker, cell) {
    marker.on("add", function () {
      var element = marker.getElement();
      element.setAttribute("aria-label", cell.label);
      element.setAttribute("role", cell.url ? "link" : "button");
      element.dataset.count = String(cell.count);
      element.dataset.lat = String(cell.lat);
      element.dataset.long = String(cell.long);
      if (cell.number) {
        element.dataset.number = cell.number;
      }
    });
    return marker;
  }

  function markerOf(cell) {
    var at = L.latLng(cell.lat, cell.long);
    if (cell.count === 1) {
      var one = L.marker(at, { title: cell.label, alt: cell.label, keyboard: true });
      acting(one, function () { window.location.assign(cell.url); });
      return labelled(one, cell);
    }
    var size = 30 + 6 * String(cell.count).length;
    var icon = L.divIcon({ className: "site-cluster", html: String(cell.count), iconSize: [size, size] });
    var many = L.marker(at, { icon: icon, title: cell.label, keyboard: true });
    acting(many, function () {
      var bounds = L.latLngBounds(cell.bounds);
      var zoom = Math.max(map.getBoundsZoom(bounds.pad(0.2)), map.getZoom() + 1);
      map.setView(bounds.getCenter(), Math.min(zoom, map.getMaxZoom()));
    });
    return labelled(many, cell);
  }

  function load() {
    var view = map.getBounds();
    var query = new URLSearchParams(window.location.search);
    query.delete("page");  // the map shows every page of the list
    query.set("zoom", String(Math.round(map.getZoom())));
    query.set("bbox", [
      clamp(view.getWest(), -180, 180), clamp(view.getSouth(), -90, 90),
      clamp(view.getEast(), -180, 180), clamp(view.getNorth(), -90, 90)
    ].map(function (n) { return n.toFixed(6); }).join(","));
    var ticket = ++asked;
    fetch(text.clusters + "?" + query.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { clusters: [] }; })
      .then(function (answer) {
        if (ticket !== asked) {
          return;  // the map moved again: a newer answer is coming
        }
        markers.clearLayers();
        answer.clusters.forEach(function (cell) { markers.addLayer(markerOf(cell)); });
        box.dataset.shown = String(answer.clusters.length);
      })
      .catch(function () { /* the list still shows the requests */ });
  }

  map.on("moveend", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(load, 150);
  });
  if (points.length) {
    var page = L.latLngBounds(points.map(function (p) { return [p.lat, p.long]; }));
    map.fitBounds(page, { maxZoom: 16, padding: [24, 24] });
  }
  load();
})();
