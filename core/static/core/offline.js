/* Nothing a nurse types is lost when the connection drops (docs/decisions/0013).
 *
 * 1. Drafts: every field of a form marked `data-offline` is kept as she types
 *    and put back if the page is reloaded.
 * 2. One queue for every write on the visit (status steps, vital signs,
 *    results, orders, doses, procedures, notes, completion). A form is sent
 *    with fetch(); without a connection, or while older entries still wait, it
 *    joins the queue, listed under "Waiting to send" with each entry's state,
 *    and the queue is sent in order when the connection returns. Each entry
 *    carries its own `client_ref`: the server records it once, however often
 *    it arrives. A failed send never leaves the page.
 * 3. A refusal on replay (for example a visit given to another nurse
 *    meanwhile) is shown plainly beside the entry, with her text to copy. A
 *    dose given offline waits as "to be recorded", never as recorded; if the
 *    server refuses it, the medicine officer has been told.
 * 4. Everything is kept in IndexedDB, for the signed-in user only: a page of
 *    another user, and logout, clear it with the service worker's caches.
 *    Each entry names its maker's opaque owner and is sent with it
 *    (X-Offline-Owner): the server receives it only under her session.
 *    Passwords (the §4 witness's) are never stored: kept in memory only.
 * 5. A page of nobody (the login page, after logout or an ended session)
 *    drops the kept pages, so no citizen's page stays readable offline, and
 *    says that unsent entries wait on the tablet, without showing them.
 * 6. A logout without a connection is remembered in a cookie (her opaque
 *    owner only) that the tablet's next request carries: the server ends her
 *    session before it answers anything. Until then the tablet shows a notice,
 *    and the login page once the connection returns.
 */
(function () {
  "use strict";
  var DB_NAME = "tvaerakut";
  var LEGACY_PREFIX = "tvaerakut.";
  var body = document.body;
  var owner = body.getAttribute("data-device-owner") || "";
  var secrets = {};
  var opened = null;

  /* --- storage ----------------------------------------------------------- */
  function db() {
    if (opened) { return opened; }
    opened = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var d = request.result;
        d.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        d.createObjectStore("drafts", { keyPath: "key" });
        d.createObjectStore("meta", { keyPath: "key" });
      };
      request.onsuccess = function () {
        request.result.onversionchange = function () { request.result.close(); opened = null; };
        resolve(request.result);
      };
      request.onerror = function () { reject(request.error); };
    });
    return opened;
  }
  function store(name, mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(name, mode);
        var result = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  var queue = {
    all: function () { return store("queue", "readonly", function (s) { return s.getAll(); }); },
    put: function (item) { return store("queue", "readwrite", function (s) { return s.put(item); }); },
    remove: function (seq) { return store("queue", "readwrite", function (s) { return s.delete(seq); }); }
  };
  function draftKey(form) { return form.getAttribute("data-offline") || form.action; }

  /* Everything this tablet keeps for the signed-in user, gone. */
  function wipe() {
    var jobs = [];
    secrets = {};
    jobs.push(db().then(function (d) { d.close(); }, function () {}).then(function () {
      opened = null;
      return new Promise(function (resolve) {
        var request = indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
      });
    }));
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* storage disabled */ }
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      }));
    }
    if (navigator.serviceWorker) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (all) {
        return Promise.all(all.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(jobs);
  }

  function claimTablet() {
    return store("meta", "readonly", function (s) { return s.get("owner"); }).then(function (mine) {
      if (mine && mine.value !== owner) { return wipe(); }
    }).then(function () {
      return store("meta", "readwrite", function (s) { return s.put({ key: "owner", value: owner }); });
    });
  }

  /* The queue of an earlier version lived in localStorage: move it over. */
  function migrateLegacy() {
    var legacy;
    try { legacy = JSON.parse(localStorage.getItem(LEGACY_PREFIX + "outbox") || "[]"); } catch (e) { legacy = []; }
    var moves = (legacy || []).map(function (item) {
      return queue.put({ ref: item.ref, url: item.url, fields: item.fields, label: item.label, at: item.at, kind: "form", state: "waiting", shown: [] });
    });
    return Promise.all(moves).then(function () {
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf(LEGACY_PREFIX) === 0) { localStorage.removeItem(key); }
      });
    });
  }

  /* --- forms ------------------------------------------------------------- */
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function isSecret(form, name) {
    var field = form.elements.namedItem(name);
    return !!(field && field.hasAttribute && field.hasAttribute("data-offline-secret"));
  }
  function fieldsOf(form, submitter) {
    var out = [];
    new FormData(form, submitter || undefined).forEach(function (value, name) {
      if (typeof value === "string") { out.push([name, value]); }
    });
    return out;
  }
  function setField(fields, name, value) {
    return fields.filter(function (p) { return p[0] !== name; }).concat([[name, value]]);
  }
  function labelOf(field) {
    if (field.labels && field.labels.length) { return field.labels[0].textContent.trim(); }
    return field.name;
  }
  /* What she typed, with the labels she saw: kept to copy if it is refused. */
  function shownOf(form) {
    var shown = [];
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden" || field.type === "password" || field.hasAttribute("data-offline-secret")) { return; }
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) { return; }
      var value = field.tagName === "SELECT" && field.selectedIndex >= 0 ? field.options[field.selectedIndex].text : field.value;
      if (value && value.trim()) { shown.push([labelOf(field), value]); }
    });
    return shown;
  }

  /* The draft writes still on their way to storage: a page left at once
     waits for them where it can (the tests do, before a reload). */
  var drafting = Promise.resolve();
  function saveDraft(form) {
    var values = {};
    fieldsOf(form).forEach(function (pair) {
      var name = pair[0];
      if (name !== "csrfmiddlewaretoken" && name !== "client_ref" && !isSecret(form, name)) { values[name] = pair[1]; }
    });
    var saved = store("drafts", "readwrite", function (s) { return s.put({ key: draftKey(form), values: values }); });
    drafting = drafting.then(function () { return saved; }, function () { return saved; });
    return saved;
  }
  function dropDraft(form) {
    return store("drafts", "readwrite", function (s) { return s.delete(draftKey(form)); });
  }
  /* A field she has begun to fill since the page opened is hers: the draft,
     read back from storage a moment after the page shows, neither overwrites
     it nor adds to what she is typing. */
  var touched = typeof WeakSet === "function" ? new WeakSet() : null;
  function isTouched(field) {
    return field === document.activeElement || !!(touched && touched.has(field));
  }
  function restoreDrafts() {
    return Promise.all(Array.prototype.map.call(document.querySelectorAll("form[data-offline]"), restoreDraft));
  }
  function restoreDraft(form) {
    return store("drafts", "readonly", function (s) { return s.get(draftKey(form)); }).then(function (draft) {
      if (!draft) { return; }
      Object.keys(draft.values).forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (!field || field.type === "hidden" || !("value" in field) || isTouched(field)) { return; }
        if (field.type === "checkbox") { field.checked = draft.values[name] !== ""; }
        else if (!field.value || field.tagName === "SELECT") { field.value = draft.values[name]; }
      });
    });
  }

  /* --- the queue, shown -------------------------------------------------- */
  function text(key) {
    var box = document.getElementById("outbox");
    return (box && box.getAttribute("data-text-" + key)) || key;
  }
  function time(iso) {
    return new Date(iso).toLocaleTimeString("da-DK", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Copenhagen" });
  }
  function stateText(item) {
    if (item.state === "refused") { return text("refused"); }
    if (item.state === "flagged") { return text("flagged"); }
    if (item.state === "login") { return text("login"); }
    if (item.state === "sending") { return text("sending"); }
    if (item.kind === "dose") { return text("to-record"); }
    return text("waiting");
  }
  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content) { node.textContent = content; }
    return node;
  }
  function copy(area) {
    area.select();
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(area.value).catch(function () {}); }
    else { try { document.execCommand("copy"); } catch (e) { /* selected for her to copy */ } }
  }
  function render() {
    var box = document.getElementById("outbox");
    var list = document.getElementById("outbox-items");
    if (!box || !list || !owner) { return Promise.resolve(); }
    return queue.all().then(function (items) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = el("li", "outbox-item");
        li.setAttribute("data-client-ref", item.ref);
        li.setAttribute("data-state", item.state === "waiting" && item.kind === "dose" ? "to_record" : item.state);
        li.appendChild(el("span", "what", item.label + " · " + time(item.at)));
        li.appendChild(el("span", "state", stateText(item)));
        if (item.state === "refused" || item.state === "flagged") {
          if (item.message) { li.appendChild(el("p", "message", item.message)); }
          var id = "outbox-text-" + item.seq;
          var label = el("label", "", text("your-text"));
          label.setAttribute("for", id);
          var area = el("textarea", "", item.shown.map(function (p) { return p[0] + ": " + p[1]; }).join("\n"));
          area.id = id;
          area.readOnly = true;
          var actions = el("div", "actions");
          var copyButton = el("button", "btn", text("copy"));
          copyButton.type = "button";
          copyButton.addEventListener("click", function () { copy(area); });
          var drop = el("button", "btn btn-quiet", text("remove"));
          drop.type = "button";
          drop.addEventListener("click", function () { queue.remove(item.seq).then(render); });
          actions.appendChild(copyButton);
          actions.appendChild(drop);
          li.appendChild(label);
          li.appendChild(area);
          li.appendChild(actions);
        }
        list.appendChild(li);
      });
      box.hidden = items.length === 0;
      box.classList.toggle("has-items", items.length > 0);
    });
  }

  /* --- sending ----------------------------------------------------------- */
  function currentToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function post(url, fields, replay, madeBy) {
    var payload = new URLSearchParams();
    var token = currentToken();
    fields.forEach(function (pair) {
      payload.append(pair[0], pair[0] === "csrfmiddlewaretoken" && token ? token : pair[1]);
    });
    // The server answers a redirect as {"location": ...} (core.middleware.OfflineSendMiddleware).
    var headers = { "X-Requested-With": "fetch", "X-Offline-Send": "1", "X-Offline-Owner": madeBy || owner };
    if (replay) { headers["X-Offline-Replay"] = "1"; }
    return fetch(url, { method: "POST", body: payload, credentials: "same-origin", redirect: "follow", headers: headers })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || !json) { return { response: response, location: null }; }
        return response.clone().json().then(function (answer) {
          return { response: response, location: answer.location || null };
        }, function () { return { response: response, location: null }; });
      }).then(function (sent) {
        if (sent.response.status !== 409) { return sent; }
        return sent.response.clone().json().then(function (answer) {
          sent.otherUser = !!(answer.error && answer.error.code === "offline.other_user");
          return sent;
        }, function () { return sent; });
      });
  }
  function signedOut(sent) {
    var where = sent.location || sent.response.url;
    return new URL(where, window.location.href).pathname.indexOf("/login/") === 0;
  }
  function withSecrets(item) {
    var kept = secrets[item.ref] || [];
    return item.fields.concat(kept);
  }

  var flushing = null;
  function flush() {
    if (flushing) { return flushing; }
    if (!navigator.onLine || !owner) { return Promise.resolve(); }
    flushing = queue.all().then(function (items) {
      return sendEach(items.filter(function (i) { return i.state !== "refused" && i.state !== "flagged"; }));
    }).then(function () { flushing = null; return render(); }, function () { flushing = null; return render(); });
    return flushing;
  }
  function sendEach(items) {
    if (!items.length) { return Promise.resolve(); }
    var item = items[0];
    item.state = "sending";
    return queue.put(item).then(render).then(function () {
      return post(item.url, withSecrets(item), true, item.owner);
    }).then(function (sent) {
      var response = sent.response;
      if (signedOut(sent)) {
        item.state = "login";
        return queue.put(item);  // nothing more can be sent until she logs in again
      }
      if (response.ok) {
        delete secrets[item.ref];
        return queue.remove(item.seq).then(function () { return sendEach(items.slice(1)); });
      }
      if (response.status >= 500 || response.status === 429) {
        item.state = "waiting";
        return queue.put(item);  // the server's trouble: tried again later
      }
      if ((response.headers.get("Content-Type") || "").indexOf("application/json") !== 0) {
        // Refused before the visit was asked (an ended session's form token):
        // kept, and sent again from a fresh page once she is logged in.
        item.state = "login";
        return queue.put(item);
      }
      return response.json().catch(function () { return {}; }).then(function (answer) {
        var error = answer.error || {};
        if (error.code === "offline.other_user") {
          // Made by another user than the one signed in: kept for her, never sent now.
          item.state = "login";
          return queue.put(item);
        }
        delete secrets[item.ref];
        item.state = item.kind === "dose" ? "flagged" : "refused";
        item.code = error.code || String(response.status);
        item.message = error.message || "";
        return queue.put(item).then(function () { return sendEach(items.slice(1)); });
      });
    }, function () {
      item.state = "waiting";
      return queue.put(item);  // still no connection
    });
  }

  function advanceSteps(form, submitter) {
    if (!submitter || !form.classList.contains("steps")) { return; }
    submitter.hidden = true;
    var next = submitter.nextElementSibling;
    while (next && next.tagName !== "BUTTON") { next = next.nextElementSibling; }
    if (next) { next.hidden = false; next.focus(); }
  }

  function enqueue(form, submitter, fields, kept, ref) {
    var at = new Date().toISOString();
    var kind = form.getAttribute("data-offline-kind") || "form";
    // When she did it (a dose given, vital signs measured, a sample taken):
    // the server judges a queued entry at that time, not when it arrives.
    fields = setField(fields, "given_offline_at", at);
    var label = form.getAttribute("data-offline-label") || form.getAttribute("aria-label") || form.action;
    if (submitter && submitter.name) { label += " · " + submitter.textContent.trim(); }
    if (kept.length) { secrets[ref] = kept; }
    return queue.put({
      ref: ref, url: form.action, fields: fields, label: label, at: at, kind: kind,
      state: "waiting", shown: shownOf(form), owner: owner
    }).then(function () { return dropDraft(form); }).then(function () {
      form.reset();
      form.removeAttribute("data-sending");
      advanceSteps(form, submitter);
      return render();
    }).then(flush);
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (form.hasAttribute("data-logout")) { return onLogout(event, form); }
    if (form.hasAttribute("data-online-only") && !navigator.onLine) {
      event.preventDefault();
      window.alert(text("online-only"));
      return;
    }
    if (!form.hasAttribute("data-offline")) { return; }
    event.preventDefault();
    // One tap, one entry: a second tap while the first is on its way (a
    // double tap, a slow connection) would carry another client_ref and be
    // recorded a second time. The form is free again once it is queued; sent,
    // the page is replaced by the server's answer.
    if (form.hasAttribute("data-sending")) { return; }
    form.setAttribute("data-sending", "");
    var submitter = event.submitter || null;
    var refField = form.elements.namedItem("client_ref");
    var ref = uuid();
    var all = setField(fieldsOf(form, submitter), "client_ref", ref);
    var fields = all.filter(function (p) { return !isSecret(form, p[0]); });
    var kept = all.filter(function (p) { return isSecret(form, p[0]); });
    if (refField) { refField.value = ""; }
    queue.all().catch(function () { return null; }).then(function (items) {
      if (items === null) {
        // No storage on this browser: an ordinary submission, still received once.
        if (refField) { refField.value = ref; }
        if (submitter && submitter.name) {
          var pressed = document.createElement("input");
          pressed.type = "hidden"; pressed.name = submitter.name; pressed.value = submitter.value;
          form.appendChild(pressed);
        }
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      var waiting = items.some(function (i) { return i.state !== "refused" && i.state !== "flagged"; });
      if (!navigator.onLine || waiting) { return enqueue(form, submitter, fields, kept, ref); }
      return post(form.action, all, false).then(function (sent) {
        var response = sent.response;
        if (response.ok && !signedOut(sent)) {
          return dropDraft(form).then(function () {
            var next = new URL(sent.location || response.url, window.location.href);
            if (next.pathname === window.location.pathname) { window.location.reload(); }
            else { window.location.assign(next.href); }
          });
        }
        if (signedOut(sent) || response.status >= 500 || response.status === 409 && sent.otherUser) {
          return enqueue(form, submitter, fields, kept, ref);
        }
        // Refused: the server's page shows why, under the fields, with what she typed.
        return response.text().then(function (html) {
          document.open(); document.write(html); document.close();
        });
      }, function () { return enqueue(form, submitter, fields, kept, ref); });
    });
  }

  /* --- logout, with or without a connection ------------------------------ */
  /* A logout posted without a connection never reaches the server, and her
     session would serve whoever uses the tablet next. So before it is posted
     the tablet remembers it in a cookie holding only her opaque owner: the
     tablet's very next request carries it, whatever makes it, and the server
     ends her session before answering (core.middleware.PendingSignOutMiddleware),
     then deletes the cookie. */
  var SIGN_OUT_COOKIE = "tvaerakut_signout";
  function signOutPending() {
    var found = "";
    document.cookie.split(";").forEach(function (part) {
      var pair = part.trim();
      if (pair.indexOf(SIGN_OUT_COOKIE + "=") === 0) { found = decodeURIComponent(pair.slice(SIGN_OUT_COOKIE.length + 1)); }
    });
    return found;
  }
  function rememberSignOut() {
    document.cookie = SIGN_OUT_COOKIE + "=" + encodeURIComponent(owner) + "; path=/; max-age=" + 7 * 24 * 3600 +
      "; samesite=lax" + (window.location.protocol === "https:" ? "; secure" : "");
  }
  /* Until the server has ended her session nothing of it is shown: a notice,
     and the login page as soon as the connection returns (its request carries
     the cookie, so the session ends first). */
  function signedOutNotice(form) {
    var login = (form && form.getAttribute("data-login-url")) || "/login/";
    var message = (form && form.getAttribute("data-text-pending")) || "";
    var toLogin = function () { window.location.replace(login); };
    if (navigator.onLine) { return toLogin(); }
    var main = el("main", "page");
    main.id = "main";
    var notice = el("p", "alert alert-warn", message);
    notice.id = "signout-pending";
    notice.setAttribute("role", "status");
    main.appendChild(notice);
    body.textContent = "";
    body.removeAttribute("data-device-owner");
    body.appendChild(main);
    window.addEventListener("online", toLogin);
  }

  function onLogout(event, form) {
    if (form.hasAttribute("data-cleared")) { return; }
    event.preventDefault();
    queue.all().catch(function () { return []; }).then(function (items) {
      var unsent = items.filter(function (i) { return i.state !== "refused" && i.state !== "flagged"; }).length;
      if (unsent && !window.confirm(text("logout-unsent"))) { return; }
      rememberSignOut();
      return wipe().then(function () {
        form.setAttribute("data-cleared", "");
        if (navigator.onLine) { form.submit(); } else { signedOutNotice(form); }
      });
    });
  }

  /* --- the service worker ------------------------------------------------ */
  function startWorker() {
    var url = body.getAttribute("data-service-worker");
    if (!url || !navigator.serviceWorker || !owner) { return; }
    var own = document.querySelector("[data-own-visits]");
    var message = { type: "owner", owner: owner, visits: own ? own.getAttribute("data-own-visits").split(" ").filter(Boolean) : null };
    navigator.serviceWorker.register(url, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration.active) { registration.active.postMessage(message); }
    }).catch(function () { /* without a worker the page still works online */ });
  }

  function setOnlineClass() { body.classList.toggle("is-offline", !navigator.onLine); }

  /* Nobody signed in (the login page): no page of the last user stays
     readable offline. Her queue stays, bound to her and unsent, until she
     signs in again (anyone else's sign-in deletes it): the page says that
     it waits, never what it holds. */
  function signedOutPage() {
    if (window.caches) {
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) { return name.indexOf("pages-") === 0; })
          .map(function (name) { return caches.delete(name); }));
      }).catch(function () {});
    }
    var notice = document.getElementById("queue-left");
    if (!notice || !window.indexedDB || !indexedDB.databases) { return; }
    indexedDB.databases().then(function (all) {
      if (!all.some(function (d) { return d.name === DB_NAME; })) { return; }
      return queue.all().then(function (items) {
        notice.hidden = items.length === 0;
        return db().then(function (d) { d.close(); opened = null; });
      });
    }).catch(function () {});
  }

  /* Her page, shown again while her logout waits to reach the server (the
     back button, a page kept by the browser): nothing of it stays shown. */
  function hersAfterLogout() {
    return !!owner && signOutPending() === owner;
  }

  function start() {
    setOnlineClass();
    if (!owner) { return signedOutPage(); }
    if (hersAfterLogout()) { return signedOutNotice(document.querySelector("form[data-logout]")); }
    claimTablet().then(migrateLegacy).then(restoreDrafts).then(render).then(function () {
      startWorker();
      return flush();
    });
  }

  document.addEventListener("input", function (event) {
    if (touched && event.target) { touched.add(event.target); }
    var form = event.target && event.target.form;
    if (form && form.hasAttribute("data-offline") && owner) { saveDraft(form); }
  });
  document.addEventListener("change", function (event) {
    if (touched && event.target) { touched.add(event.target); }
    var form = event.target && event.target.form;
    if (form && form.hasAttribute("data-offline") && owner) { saveDraft(form); }
  });
  document.addEventListener("submit", onSubmit);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && hersAfterLogout()) { signedOutNotice(document.querySelector("form[data-logout]")); }
    if (event.persisted) {
      // Back to a page she left by sending a form: that send is over.
      Array.prototype.forEach.call(document.querySelectorAll("form[data-sending]"), function (form) {
        form.removeAttribute("data-sending");
      });
    }
  });
  window.addEventListener("online", function () { setOnlineClass(); if (!hersAfterLogout()) { flush(); } });
  window.addEventListener("offline", setOnlineClass);
  window.tvaerakutOutbox = {
    flush: flush,
    items: function () { return queue.all(); },
    drafted: function () { return drafting; },
    restore: restoreDrafts,
    put: function (item) { return queue.put(item).then(render); }
  };
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
