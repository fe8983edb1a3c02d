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
    map.on("click", function (event) { put(event.latlng); });
  }
  window.addEventListener("load", start);
})();
