/* Address suggestions: an enhancement of a plain text box (ARIA 1.2 combobox).
 *
 * An input with data-suggest (the JSON URL) gets a list of addresses from our
 * geocoder as the resident types. Down and Up move through them, Enter takes the
 * one shown as active, Escape closes the list; a click or tap takes one too. The
 * box keeps working as a plain text field: without this file, or with nothing
 * chosen, the server geocodes what was typed. Choosing an address fires
 * "site:address" on the box with its point, for a map to move its pin.
 */
(function () {
  "use strict";

  var MIN_LENGTH = 3;
  var WAIT_MS = 150;

  function enhance(input) {
    var text = input.dataset;
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    var status = document.createElement("p");
    var found = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    list.id = listId;
    list.className = "site-suggest";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", text.suggestLabel);
    list.hidden = true;
    status.className = "usa-sr-only";
    status.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");  // the browser's own list would cover ours

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, at) {
        option.setAttribute("aria-selected", at === index ? "true" : "false");
        option.classList.toggle("site-suggest__option--active", at === index);
      });
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var place = found[index];
      input.value = place.address;
      close();
      status.textContent = text.suggestChosen + " " + place.address;
      input.dispatchEvent(new CustomEvent("site:address", { bubbles: true, detail: place }));
    }

    function show(places) {
      found = places;
      list.textContent = "";
      places.forEach(function (place, index) {
        var option = document.createElement("li");
        option.id = listId + "-" + index;
        option.className = "site-suggest__option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = place.address;
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(index); });
        list.appendChild(option);
      });
      active = -1;
      if (places.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = places.length + " " + text.suggestCount;
      } else {
        close();
        status.textContent = "";
      }
    }

    function ask() {
      var typed = input.value.trim();
      if (typed.length < MIN_LENGTH) {
        show([]);
        return;
      }
      var ticket = ++asked;
      fetch(text.suggest + "?q=" + encodeURIComponent(typed), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { addresses: [] }; })
        .then(function (answer) {
          // An older answer arriving late is dropped, and so is any answer once the
          // resident has moved on to another field.
          if (ticket === asked && document.activeElement === input) {
            show(answer.addresses || []);
          }
        })
        .catch(function () { show([]); });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, WAIT_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && found.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && found.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
          mark(0);
        } else if (open) {
          mark((active + 1) % found.length);
        }
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        mark(active <= 0 ? found.length - 1 : active - 1);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();  // take the address; the form is sent with the next Enter
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), enhance);
})();
