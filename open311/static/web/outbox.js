/* Reports written while the phone was offline, kept in IndexedDB until they are sent.
 *
 * Loaded by the pages (offline.js saves and lists) and by the service worker
 * (Background Sync sends), so it uses nothing of the page: no document, no window.
 * Each report gets its Idempotency-Key when it is saved, and every attempt to send
 * it carries that key: if a reply is lost, or the page and the worker send the same
 * report at once, the server answers with the request it already filed.
 */
(function (scope) {
  "use strict";

  var DATABASE = "chi311-outbox";
  var REPORTS = "reports";  // waiting to be sent, or refused by the server
  var SENT = "sent";        // sent, with their numbers, until a page has shown them
  var DONE_PATH = /\/requests\/([^/]+)\/done$/;
  var TOKEN = /name="csrf_token" value="([^"]+)"/;
  var sending = null;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(REPORTS, { keyPath: "key" });
        request.result.createObjectStore(SENT, { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  /* One transaction over `stores`; `work(transaction, keep)` may keep a result. */
  function transact(stores, mode, work) {
    return open().then(function (database) {
      return new Promise(function (resolve, reject) {
        var transaction = database.transaction(stores, mode);
        var result;
        work(transaction, function (value) { result = value; });
        transaction.oncomplete = function () { database.close(); resolve(result); };
        transaction.onerror = transaction.onabort = function () {
          database.close();
          reject(transaction.error);
        };
      });
    });
  }

  function all(store) {
    return transact([store], "readonly", function (transaction, keep) {
      var request = transaction.objectStore(store).getAll();
      request.onsuccess = function () { keep(request.result); };
    });
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    scope.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  /* A report from a form's FormData: its text fields, and its photos as Blobs. */
  function save(action, title, formData) {
    var given = formData.get("idempotency_key");  // the page's key (offline.js), if any
    var report = { key: given || newKey(), action: action, title: title, saved: Date.now(),
      fields: [], files: [], refused: null };
    formData.forEach(function (value, name) {
      if (typeof value === "string") {
        report.fields.push([name, value]);
      } else if (value.size > 0) {
        report.files.push({ name: name, filename: value.name,
          blob: value.slice(0, value.size, value.type) });
      }
    });
    return transact([REPORTS], "readwrite", function (transaction) {
      transaction.objectStore(REPORTS).put(report);
    }).then(function () { return report; });
  }

  function remove(store, key) {
    return transact([store], "readwrite", function (transaction) {
      transaction.objectStore(store).delete(key);
    });
  }

  /* This browser's form token now: the one saved with the report is gone if the
   * browser was closed since (the session ended). */
  function freshToken(action) {
    return fetch(action, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (page) {
        var found = TOKEN.exec(page);
        return found ? found[1] : null;
      });
  }

  function post(report, token) {
    var body = new FormData();
    report.fields.forEach(function (field) {
      body.append(field[0], field[0] === "csrf_token" && token ? token : field[1]);
    });
    report.files.forEach(function (file) { body.append(file.name, file.blob, file.filename); });
    return fetch(report.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Idempotency-Key": report.key }
    });
  }

  function filed(report, number, url) {
    return transact([REPORTS, SENT], "readwrite", function (transaction) {
      transaction.objectStore(REPORTS).delete(report.key);
      transaction.objectStore(SENT).put({ key: report.key, title: report.title,
        number: number, url: url });
    });
  }

  function refused(report, status) {
    report.refused = status;
    return transact([REPORTS], "readwrite", function (transaction) {
      transaction.objectStore(REPORTS).put(report);
    });
  }

  /* Sends one report. Resolves once the server has answered for good (filed, or
   * refused: a 4xx other than "try later"); rejects while it cannot be reached. */
  function send(report) {
    return freshToken(report.action)
      .then(function (token) { return post(report, token); })
      .then(function (response) {
        var done = DONE_PATH.exec(new URL(response.url).pathname);
        if (response.ok && done) {
          return filed(report, decodeURIComponent(done[1]), response.url);
        }
        if (response.status >= 400 && response.status < 500 &&
            response.status !== 408 && response.status !== 429) {
          return refused(report, response.status);
        }
        throw new Error("not sent: " + response.status);
      });
  }

  /* Every waiting report, one after another; one run at a time in this page or worker. */
  function sendAll() {
    if (sending) {
      return sending;
    }
    sending = all(REPORTS).then(function (reports) {
      var failed = null;
      return reports.filter(function (report) { return !report.refused; })
        .reduce(function (previous, report) {
          return previous.then(function () {
            return send(report).catch(function (error) { failed = error; });
          });
        }, Promise.resolve())
        .then(function () {
          if (failed) {
            throw failed;  // Background Sync tries again later
          }
        });
    });
    sending.then(done, done);
    function done() { sending = null; }
    return sending;
  }

  scope.CHI311Outbox = {
    SYNC_TAG: "chi311-outbox",
    newKey: newKey,
    save: save,
    waiting: function () { return all(REPORTS); },
    sent: function () { return all(SENT); },
    forget: function (key) { return remove(REPORTS, key); },
    shown: function (key) { return remove(SENT, key); },
    sendAll: sendAll
  };
}(self));
