/* The near-me page's map: the requests found, over the city and its community areas.
 * The list beside it works without this file; each marker links to its request. */
(function () {
  "use strict";

  var box = document.getElementById("near-map");
  if (!box || typeof L === "undefined") {
    return;
  }
  var text = box.dataset;
  var points = JSON.parse(text.points || "[]");
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", text.label);
  var map = L.map(box, { keyboard: true });
  map.setView([41.8336, -87.7319], 10);
  if (text.tiles) {
    L.tileLayer(text.tiles, { maxZoom: 19, attribution: text.attribution }).addTo(map);
  }
  fetch(text.geojson, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (collection) {
      L.geoJSON(collection, {
        interactive: false,
        style: function (feature) {
          var city = feature.properties.kind === "city";
          return { color: city ? "#1a4480" : "#565c65", weight: city ? 3 : 1, fill: false };
        }
      }).addTo(map).bringToBack();
    })
    .catch(function () { /* the markers still show */ });

  var markers = points.map(function (point) {
    var marker = L.marker([point.lat, point.long], { title: point.label, alt: point.label });
    marker.on("click", function () { window.location.assign(point.url); });
    return marker;
  });
  if (markers.length) {
    var group = L.featureGroup(markers).addTo(map);
    map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [24, 24] });
  }
})();
