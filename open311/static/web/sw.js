/* CHI 311's service worker.
 *
 * It keeps the site's shell (styles, scripts, icons, the offline page) so the site
 * opens without a connection, and the report forms a resident opened, so a report
 * can be written offline (offline.js keeps it; outbox.js sends it). It never keeps
 * a POST or its reply, nor any other page: a page is always asked of the server
 * first, and only when that fails is a kept form or the offline page shown.
 */
"use strict";

var VERSION = "dev";  // the server puts a hash of the shell here (open311/web/installable.py)
var PREFIX = "chi311-";
var SHELL_CACHE = PREFIX + "shell-" + VERSION;
var FORMS_CACHE = PREFIX + "forms-" + VERSION;
var OFFLINE_PAGE = "/offline";
var SHELL = [
  OFFLINE_PAGE,
  "/manifest.webmanifest",
  "/map/city.geojson",
  "/static/vendor/uswds/css/uswds.min.css",
  "/static/vendor/uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2",
  "/static/vendor/uswds/fonts/source-sans-pro/sourcesanspro-bold-webfont.woff2",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/web/site.css",
  "/static/web/outbox.js",
  "/static/web/offline.js",
  "/static/web/city-map.js",
  "/static/web/map.js",
  "/static/web/photos.js",
  "/static/web/icon.svg",
  "/static/web/icon-192.png",
  "/static/web/icon-512.png"
];
var PUBLIC_FILES = /^\/(static\/|map\/city\.geojson$|manifest\.webmanifest$)/;
var REPORT_FORM = /^\/services\/[^/]+$/;

importScripts("/static/web/outbox.js");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== SHELL_CACHE && name !== FORMS_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

/* A public file: from the cache at once, refreshed from the server for next time. */
function publicFile(request) {
  return caches.open(SHELL_CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (kept) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") {
          cache.put(request, response.clone());
        }
        return response;
      });
      if (kept) {
        fresh.catch(function () { /* offline: the kept copy was enough */ });
        return kept;
      }
      return fresh;
    });
  });
}

function keepForm(url, response) {
  if (REPORT_FORM.test(new URL(url).pathname) && response.ok && response.type === "basic" &&
      !response.redirected) {
    var copy = response.clone();
    return caches.open(FORMS_CACHE).then(function (cache) { return cache.put(url, copy); });
  }
  return Promise.resolve();
}

/* A page: from the server; offline, a report form kept earlier, else the offline page. */
function page(request, path) {
  return fetch(request).then(function (response) {
    keepForm(request.url, response);
    return response;
  }).catch(function () {
    var kept = REPORT_FORM.test(path) ? caches.match(request.url, { cacheName: FORMS_CACHE })
      : Promise.resolve(undefined);
    return kept.then(function (form) {
      return form || caches.match(OFFLINE_PAGE, { cacheName: SHELL_CACHE });
    });
  });
}

/* The title of a kept report form, for the list of saved reports. */
function titleOf(url) {
  return caches.match(url, { cacheName: FORMS_CACHE }).then(function (kept) {
    return kept ? kept.text() : "";
  }).then(function (page) {
    var found = /<h1 id="form-top">([^<]*)<\/h1>/.exec(page);
    var title = found ? found[1] : new URL(url).pathname.split("/").pop();
    return title.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  });
}

/* A report form sent while the phone believed it was online, and the network failed:
 * the worker keeps it as offline.js would (with the page's key), and shows the offline
 * page, which lists it. The reply of a POST that reached the server is never kept. */
function postReport(request) {
  var copy = request.clone();
  return fetch(request).catch(function () {
    return Promise.all([copy.formData(), titleOf(request.url)]).then(function (found) {
      return self.CHI311Outbox.save(request.url, found[1], found[0]);
    }).then(function () {
      if (self.registration.sync) {
        self.registration.sync.register(self.CHI311Outbox.SYNC_TAG).catch(function () {});
      }
      return Response.redirect(OFFLINE_PAGE, 303);
    });
  });
}

/* A form the page opened before this worker controlled it (the first visit). */
self.addEventListener("message", function (event) {
  var url = event.data && event.data.keepForm;
  if (typeof url === "string" && new URL(url).origin === self.location.origin) {
    event.waitUntil(fetch(url, { credentials: "same-origin" }).then(function (response) {
      return keepForm(url, response);
    }).catch(function () { /* offline already: nothing to keep */ }));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.method === "POST" && request.mode === "navigate" && REPORT_FORM.test(url.pathname)) {
    event.respondWith(postReport(request));
    return;
  }
  if (request.method !== "GET") {
    return;  // other POSTs go to the server as they are; no reply is ever kept
  }
  if (request.mode === "navigate") {
    event.respondWith(page(request, url.pathname));
  } else if (PUBLIC_FILES.test(url.pathname)) {
    event.respondWith(publicFile(request));
  }
});

function tellPages() {
  return self.clients.matchAll({ type: "window" }).then(function (pages) {
    pages.forEach(function (client) { client.postMessage("outbox-changed"); });
  });
}

/* With a page of the site open, that page sends (its `online` handler already does, and
   one sender at a time keeps a lost reply from racing a second sending); the worker
   sends itself only when no page is open. */
self.addEventListener("sync", function (event) {
  if (event.tag === self.CHI311Outbox.SYNC_TAG) {
    event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (pages) {
      if (pages.length) {
        pages[0].postMessage("outbox-send");
        return undefined;
      }
      return self.CHI311Outbox.sendAll().then(tellPages);
    }));
  }
});
