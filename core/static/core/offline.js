/* Nothing a nurse types is lost when the connection drops.
 *
 * 1. Drafts: every field of a form marked `data-offline` is saved in this
 *    tablet's localStorage as she types, and put back if the page is reloaded.
 * 2. Outbox: such a form is sent with fetch(); if the network is gone, the
 *    submission is queued in localStorage and listed under "Waiting to send".
 *    When the connection returns (or the next page loads online) the queue is
 *    sent in order; each entry carries a `client_ref` so a repeat is recognised.
 *
 * Only fields of the form are stored (never the page's other content), and the
 * queue is cleared entry by entry once the server has answered.
 */
(function () {
  "use strict";
  var OUTBOX_KEY = "tvaerakut.outbox";
  var DRAFT_PREFIX = "tvaerakut.draft.";

  function read(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function write(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function draftKey(form) { return DRAFT_PREFIX + (form.dataset.offline || form.action); }

  function fieldsOf(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }

  /* --- drafts ------------------------------------------------------------ */
  function saveDraft(form) {
    var values = {};
    fieldsOf(form).forEach(function (pair) {
      if (pair[0] !== "csrfmiddlewaretoken" && pair[0] !== "client_ref") { values[pair[0]] = pair[1]; }
    });
    write(draftKey(form), values);
  }
  function restoreDraft(form) {
    var values = read(draftKey(form), null);
    if (!values) { return; }
    Object.keys(values).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || field.type === "hidden") { return; }
      if (field.type === "checkbox") { field.checked = values[name] !== ""; }
      else if (!field.value) { field.value = values[name]; }
    });
  }

  /* --- outbox ------------------------------------------------------------ */
  function outbox() { return read(OUTBOX_KEY, []); }
  function render() {
    var box = document.getElementById("outbox");
    var list = document.getElementById("outbox-items");
    if (!box || !list) { return; }
    var items = outbox();
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.dataset.clientRef = item.ref;
      var when = new Date(item.at);
      li.textContent = item.label + " · " + when.toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Copenhagen" });
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
    box.classList.toggle("has-items", items.length > 0);
  }
  function enqueue(form, fields) {
    var items = outbox();
    items.push({
      ref: (fields.filter(function (p) { return p[0] === "client_ref"; })[0] || [null, uuid()])[1],
      url: form.action, fields: fields,
      label: form.dataset.offlineLabel || form.getAttribute("aria-label") || form.action,
      at: new Date().toISOString()
    });
    write(OUTBOX_KEY, items);
    render();
  }
  function post(url, fields) {
    var body = new URLSearchParams();
    fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "follow",
      headers: { "X-Requested-With": "fetch", "X-Offline-Replay": "1" }
    });
  }

  var flushing = false;
  function flush() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    var items = outbox();
    if (!items.length) { return Promise.resolve(); }
    flushing = true;
    var item = items[0];
    return post(item.url, item.fields).then(function (response) {
      // The server answered: whatever it said, the entry has been delivered.
      // A refusal (4xx) is shown to her rather than retried for ever.
      write(OUTBOX_KEY, outbox().filter(function (other) { return other.ref !== item.ref; }));
      if (!response.ok) { window.alert(item.label + ": " + response.status); }
      flushing = false;
      render();
      return flush();
    }, function () { flushing = false; });
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-offline")) { return; }
    event.preventDefault();
    var ref = form.elements.namedItem("client_ref");
    if (ref && !ref.value) { ref.value = uuid(); }
    var fields = fieldsOf(form);
    var done = function (response) {
      if (!response.ok) {
        // Refused (4xx): show the server's page with its message; the draft stays.
        return response.text().then(function (html) {
          document.open(); document.write(html); document.close();
        });
      }
      localStorage.removeItem(draftKey(form));
      if (ref) { ref.value = ""; }
      window.location.assign(response.url || window.location.href);
    };
    if (!navigator.onLine) {
      enqueue(form, fields);
      localStorage.removeItem(draftKey(form));
      form.reset();
      if (ref) { ref.value = ""; }
      return;
    }
    post(form.action, fields).then(done, function () {
      enqueue(form, fields);
      localStorage.removeItem(draftKey(form));
      form.reset();
      if (ref) { ref.value = ""; }
    });
  }

  function setOnlineClass() { document.body.classList.toggle("is-offline", !navigator.onLine); }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-offline]").forEach(restoreDraft);
    setOnlineClass();
    render();
    flush();
  });
  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    if (form && form.hasAttribute("data-offline")) { saveDraft(form); }
  });
  document.addEventListener("submit", onSubmit);
  window.addEventListener("online", function () { setOnlineClass(); flush(); });
  window.addEventListener("offline", setOnlineClass);
  window.tvaerakutOutbox = { flush: flush, items: outbox };
})();
