/* The console's maps: the requests a page lists (data-points, JSON), each a marker
 * that links to its page; the request page's own marker is larger. The page works
 * without it: every request is listed beside the map.
 */
(function () {
  "use strict";

  function draw(box) {
    var data = box.dataset;
    var points = JSON.parse(data.points || "[]");
    var map = L.map(box, { scrollWheelZoom: false });
    if (data.tiles) {
      L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution }).addTo(map);
    }
    var bounds = [];
    points.forEach(function (point) {
      var marker = L.circleMarker([point.lat, point.long], {
        radius: point.main ? 10 : 7,
        color: point.overdue ? "#b50909" : "#1a4480",
        weight: point.main ? 4 : 2,
        fillOpacity: 0.6
      }).addTo(map);
      var label = document.createElement(point.url ? "a" : "span");
      label.textContent = point.number + " · " + point.service;
      if (point.url) { label.href = point.url; }
      marker.bindPopup(label);
      bounds.push([point.lat, point.long]);
    });
    if (bounds.length === 1) {
      map.setView(bounds[0], 16);
    } else if (bounds.length) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
    } else {
      map.setView([41.8336, -87.7319], 10);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".console-map"), draw);
  });
})();
