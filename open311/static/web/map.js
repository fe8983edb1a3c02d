/* The service page's map: a progressive enhancement of the address box.
 *
 * Without this file the form asks for an address. With it, a Leaflet map shows
 * the city and its community areas; a click, a tap or Enter puts a pin, which
 * can be dragged; "Use my location" asks the browser. The pin fills the hidden
 * lat and long fields and the address box (the server's reverse geocoder says
 * what is there). A pin outside the city is refused with a message. Typing an
 * address takes the pin away: the address is then what is sent.
 */
(function () {
  "use strict";

  var box = document.getElementById("map");
  if (!box || typeof L === "undefined" || !window.cityMap) {
    return;
  }
  var lat = document.getElementById("lat");
  var lon = document.getElementById("long");
  var address = document.getElementById("address_string");
  var status = document.getElementById("map-status");
  var locate = document.getElementById("use-location");
  var text = box.dataset;
  var pin = null;

  box.hidden = false;
  box.setAttribute("role", "application");
  box.setAttribute("aria-label", text.label);
  var map = window.cityMap(box, { keyboard: true, zoomSnap: 0.5 }, true, function (outlines) {
    if (!pin) {
      map.fitBounds(outlines.getBounds());
    }
  });

  function say(message, isError) {
    status.textContent = message;
    status.classList.toggle("site-map__status--error", Boolean(isError));
  }

  function clearPin() {
    if (pin) {
      map.removeLayer(pin);
      pin = null;
    }
    lat.value = "";
    lon.value = "";
  }

  function check(point) {
    var url = text.place + "?lat=" + point.lat.toFixed(6) + "&long=" + point.lng.toFixed(6);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (place) {
        if (!place.inside) {
          clearPin();
          say(text.outside, true);
          return;
        }
        lat.value = point.lat.toFixed(6);
        lon.value = point.lng.toFixed(6);
        address.value = place.address;
        say(text.placed + " " + place.address, false);
      })
      .catch(function () {
        lat.value = point.lat.toFixed(6);
        lon.value = point.lng.toFixed(6);
      });
  }

  function movePin(point) {
    if (pin) {
      pin.setLatLng(point);
    } else {
      pin = L.marker(point, { draggable: true, keyboard: true, title: text.label }).addTo(map);
      pin.on("dragend", function () { check(pin.getLatLng()); });
    }
  }

  function put(point) {
    movePin(point);
    check(point);
  }

  map.on("click", function (event) { put(event.latlng); });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target === box) {
      event.preventDefault();
      put(map.getCenter());
    }
  });
  address.addEventListener("input", function () {
    if (pin) {
      clearPin();
      say("", false);
    }
  });

  // suggest.js: an address chosen from the suggestions moves the pin to it; the
  // address stays as chosen (the geocoder placed it, no need to ask the reverse).
  address.addEventListener("site:address", function (event) {
    var point = L.latLng(event.detail.lat, event.detail.long);
    movePin(point);
    map.setView(point, 17);
    lat.value = point.lat.toFixed(6);
    lon.value = point.lng.toFixed(6);
    say(text.placed + " " + event.detail.address, false);
  });

  // photos.js: "use where the photo was taken", pressed by the resident.
  box.addEventListener("site:place", function (event) {
    event.preventDefault();  // handled here: photos.js leaves the fields to us
    var point = L.latLng(event.detail.lat, event.detail.long);
    map.setView(point, 17);
    put(point);
  });

  if (locate && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      say(text.locating, false);
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var point = L.latLng(position.coords.latitude, position.coords.longitude);
          map.setView(point, 17);
          put(point);
        },
        function () { say(text.noLocation, true); },
        { enableHighAccuracy: true, timeout: 10000 }
      );
    });
  }

  if (lat.value && lon.value) {  // the form came back with problems: keep the pin
    var kept = L.latLng(parseFloat(lat.value), parseFloat(lon.value));
    map.setView(kept, 16);
    put(kept);
  }
})();
