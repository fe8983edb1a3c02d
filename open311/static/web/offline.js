/* The site offline: installs the service worker, keeps a report written without a
 * connection (outbox.js), lists the reports waiting on this phone, and sends them
 * when the connection returns: on the `online` event, on every page load, and by
 * the worker's Background Sync where the browser has it.
 *
 * Without this file (or without IndexedDB) the form simply posts; offline, the
 * browser then says it has no connection, as for any site.
 */
(function () {
  "use strict";

  var box = document.getElementById("outbox");
  var outbox = window.CHI311Outbox;
  if (!box || !outbox || !window.indexedDB || !window.Promise) {
    return;
  }
  var text = box.dataset;
  var message = document.getElementById("outbox-message");
  var list = document.getElementById("outbox-list");

  if ("serviceWorker" in navigator) {
    var firstVisit = !navigator.serviceWorker.controller;
    navigator.serviceWorker.register(text.worker).catch(function () {
      /* no worker (a private window, an old browser): the site works online as before */
    });
    if (firstVisit && document.querySelector("form[data-offline]")) {
      navigator.serviceWorker.ready.then(function (registration) {
        registration.active.postMessage({ keepForm: location.href });
      });
    }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data === "outbox-changed") {
        show();
      } else if (event.data === "outbox-send") {
        sendWaiting();
      }
    });
  }

  function item(children) {
    var li = document.createElement("li");
    children.forEach(function (child) {
      li.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    list.appendChild(li);
  }

  function strong(words) {
    var element = document.createElement("strong");
    element.textContent = words;
    return element;
  }

  function removeButton(report) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "usa-button usa-button--outline";
    button.textContent = text.remove;
    button.setAttribute("aria-label", text.remove + ": " + report.title);
    button.addEventListener("click", function () {
      outbox.forget(report.key).then(show);
    });
    return button;
  }

  var sent = [];  // sent reports shown by this page: taken from the store once, kept here

  function show() {
    return Promise.all([outbox.waiting(), outbox.sent()]).then(function (found) {
      var waiting = found[0];
      found[1].forEach(function (report) {
        if (!sent.some(function (seen) { return seen.key === report.key; })) {
          sent.push(report);
        }
        outbox.shown(report.key);  // shown once: the done page keeps the number
      });
      list.textContent = "";
      waiting.forEach(function (report) {
        if (report.refused) {
          var again = document.createElement("a");
          again.className = "usa-link";
          again.href = report.action;
          again.textContent = text.refused;
          item([strong(report.title), again, removeButton(report)]);
        } else {
          item([strong(report.title), text.waiting]);
        }
      });
      sent.forEach(function (report) {
        var link = document.createElement("a");
        link.className = "usa-link site-outbox__number";
        link.href = report.url;
        link.textContent = report.number;
        item([strong(report.title), text.sent + " ", link]);
      });
      box.hidden = waiting.length + sent.length === 0 && message.textContent === "";
    });
  }

  function sendWaiting() {
    if (navigator.onLine === false) {
      return show();
    }
    return outbox.sendAll().catch(function () { /* still unreachable: kept for later */ })
      .then(show);
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) {
      return;
    }
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.sync && registration.sync.register(outbox.SYNC_TAG);
    }).catch(function () { /* no Background Sync: the next visit or `online` sends it */ });
  }

  var form = document.querySelector("form[data-offline]");
  if (form) {
    /* Every sending of this report carries one key: a POST resent after a lost reply,
     * or kept by the worker when the network failed, is filed once. */
    var keyField = document.createElement("input");
    keyField.type = "hidden";
    keyField.name = "idempotency_key";
    form.appendChild(keyField);
    var freshKey = function () { keyField.value = outbox.newKey(); };
    freshKey();
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        freshKey();  // back to a form already sent: what is written now is another report
      }
    });
    form.addEventListener("submit", function (event) {
      if (navigator.onLine !== false) {
        return;  // online: the normal POST, redirect, done page
      }
      event.preventDefault();
      var title = document.querySelector("h1").textContent.trim();
      outbox.save(form.action, title, new FormData(form)).then(function () {
        form.reset();
        freshKey();
        message.textContent = text.saved;
        box.hidden = false;
        askForSync();
        return show();
      }).then(function () {
        box.scrollIntoView();
        message.focus();
      }).catch(function () {
        form.submit();  // nowhere to keep it: let the browser try
      });
    });
  }

  window.addEventListener("online", function () {
    message.textContent = "";
    sendWaiting();
  });
  sendWaiting();
}());
