/* The near-me page's map: the requests found, over the city and its community areas.
 * The list beside it works without this file; each marker links to its request. */
(function () {
  "use strict";

  var box = document.getElementById("near-map");
  if (!box || typeof L === "undefined" || !window.cityMap) {
    return;
  }
  var text = box.dataset;
  var points = JSON.parse(text.points || "[]");
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", text.label);
  var map = window.cityMap(box, { keyboard: true }, false, function (outlines) {
    outlines.bringToBack();
  });

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
