/* The intake's map pin: a click puts the pin and fills the form's lat and long (the form
 * works without it: the address alone places the request). */
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("map");
    if (!box || !window.L || !window.cityMap) { return; }
    box.hidden = false;
    var lat = document.getElementById("lat");
    var lon = document.getElementById("long");
    var map = window.cityMap(box, {}, true, function () {});
    var pin = null;
    function put(latlng) {
      if (pin) { pin.setLatLng(latlng); } else { pin = L.marker(latlng).addTo(map); }
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
    }
    if (lat.value && lon.value) { put(L.latLng(parseFloat(lat.value), parseFloat(lon.value))); }
    // After the check: the caller's place, and the open requests offered around it.
    var text = box.dataset;
    if (text.centerLat && text.centerLong) {
      var centre = L.latLng(parseFloat(text.centerLat), parseFloat(text.centerLong));
      map.setView(centre, 17);
      L.circleMarker(centre, { radius: 8, color: "#1a4480", weight: 3, fillOpacity: 0.2 })
        .bindTooltip(text.centerLabel).addTo(map);
    }
    document.querySelectorAll(".console-nearby__item[data-lat]").forEach(function (item) {
      var at = L.latLng(parseFloat(item.dataset.lat), parseFloat(item.dataset.long));
      L.circleMarker(at, { radius: 6, color: "#b50909", weight: 2, fillOpacity: 0.6 })
        .bindTooltip(item.dataset.label).addTo(map);
    });
    map.on("click", function (event) { put(event.latlng); });
  }
  window.addEventListener("load", start);
})();
