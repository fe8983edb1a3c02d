/* What the site's maps share: a Leaflet map of the city in `box`, with tiles when
 * the site names a tile server, and the outlines of the city and its community areas.
 * Loaded before map.js and near.js; it only defines cityMap, which they call once
 * Leaflet is there. `fillCity` tints the city inside its outline; `outlined` gets
 * the outlines' layer once they arrive (the map works without them).
 */
(function () {
  "use strict";

  window.cityMap = function (box, options, fillCity, outlined) {
    var text = box.dataset;
    var map = L.map(box, options);
    map.setView([41.8336, -87.7319], 10);
    if (text.tiles) {
      L.tileLayer(text.tiles, { maxZoom: 19, attribution: text.attribution }).addTo(map);
    }
    fetch(text.geojson, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        outlined(L.geoJSON(collection, {
          interactive: false,
          style: function (feature) {
            var city = feature.properties.kind === "city";
            var filled = fillCity && city;
            return {
              color: city ? "#1a4480" : "#565c65",
              weight: city ? 3 : 1,
              fill: filled,
              fillOpacity: filled ? 0.04 : 0
            };
          }
        }).addTo(map));
      })
      .catch(function () { /* the map still works without the outlines */ });
    return map;
  };
})();
