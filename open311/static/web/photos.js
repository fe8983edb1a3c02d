/* The service page's photos: a progressive enhancement of the file input.
 *
 * Without this file the chosen photos are simply sent with the form. With it,
 * each chosen photo is previewed, and the server is asked where each one says
 * it was taken (POST /open311/v2/media/positions.json, which stores nothing).
 * When one has a position, a button OFFERS to move the pin there; the pin never
 * moves unless the resident presses it. Previews are data: URLs, which the
 * page's Content-Security-Policy allows for images (blob: it does not).
 */
(function () {
  "use strict";

  var input = document.getElementById("media");
  var previews = document.getElementById("media-previews");
  var offer = document.getElementById("photo-offer");
  var offerText = document.getElementById("photo-offer-text");
  var button = document.getElementById("use-photo-place");
  if (!input || !previews || !offer || !window.FileReader || !window.FormData) {
    return;
  }
  var text = input.dataset;
  var place = null;
  button.textContent = text.usePlace;

  function preview(file, number) {
    var reader = new FileReader();
    reader.onload = function () {
      var item = document.createElement("li");
      var image = document.createElement("img");
      image.src = reader.result;
      image.alt = text.preview.replace("{n}", String(number));
      item.appendChild(image);
      previews.appendChild(item);
    };
    reader.readAsDataURL(file);
  }

  function firstPosition(positions) {
    for (var i = 0; i < positions.length; i += 1) {
      if (positions[i] && positions[i].lat !== null && positions[i].long !== null) {
        return positions[i];
      }
    }
    return null;
  }

  function ask(files) {
    var body = new FormData();
    files.forEach(function (file) { body.append("media", file); });
    fetch(text.positions, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (positions) {
        place = firstPosition(positions);
        if (place) {
          offerText.textContent = text.offer;
          button.hidden = false;
          offer.hidden = false;
        }
      })
      .catch(function () { /* no offer: the resident places the pin */ });
  }

  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files || []);
    previews.textContent = "";
    previews.hidden = files.length === 0;
    offer.hidden = true;
    place = null;
    files.forEach(function (file, index) { preview(file, index + 1); });
    if (files.length) {
      ask(files);
    }
  });

  button.addEventListener("click", function () {
    if (!place) {
      return;
    }
    // map.js moves the pin (and checks the place is in the city); without a map,
    // the position goes straight into the form.
    var unhandled = document.getElementById("map").dispatchEvent(new CustomEvent("site:place", {
      cancelable: true,
      detail: { lat: place.lat, long: place.long }
    }));
    if (unhandled) {
      document.getElementById("lat").value = place.lat.toFixed(6);
      document.getElementById("long").value = place.long.toFixed(6);
    }
    offerText.textContent = text.moved;
    button.hidden = true;
  });
})();
