/* Near me's "Use my location": the browser's position becomes the search's pin.
 *
 * The button shows only where the browser can tell its position. Its lat and long
 * are added to the form, which is then sent (GET), so the list and the map are the
 * requests around the resident; the other places chosen are cleared, since a pin
 * wins over them. Without this file the address box and the area choices work alone.
 */
(function () {
  "use strict";

  var button = document.getElementById("near-location");
  if (!button || !("geolocation" in navigator)) {
    return;
  }
  var form = button.form;
  var status = document.getElementById("near-location-status");
  var text = button.dataset;

  function field(name, value) {
    var input = form.querySelector("input[type=hidden][name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = text.locating;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.address.value = "";
        ["community_area", "ward"].forEach(function (name) {
          if (form.elements[name]) {
            form.elements[name].value = "";
          }
        });
        field("lat", position.coords.latitude.toFixed(6));
        field("long", position.coords.longitude.toFixed(6));
        form.submit();
      },
      function () { status.textContent = text.noLocation; },
      { enableHighAccuracy: true, timeout: 10000 }
    );
  });
})();
