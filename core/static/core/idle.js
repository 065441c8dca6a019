/* A page left untouched does not keep showing a citizen's data.
 *
 * Once nobody has touched the page (pointer, key, wheel, scroll, typing) for
 * the session's idle limit (data-idle-seconds), it asks the server whether the
 * session still holds (data-session-url), as an automatic request
 * (X-Background), which never keeps a session alive:
 * - ended (401, idle or logged out elsewhere): the content is hidden at once
 *   and the whole page goes to the login page, coming back here after login;
 * - still held (used from another page meanwhile): it asks again later;
 * - no connection: the content is hidden until the connection returns and the
 *   server has answered. What she typed is kept as a draft (offline.js).
 */
(function () {
  "use strict";
  var body = document.body;
  var limit = Number(body.getAttribute("data-idle-seconds")) * 1000;
  var url = body.getAttribute("data-session-url");
  if (!limit || !url) { return; }
  var AGAIN_MS = 30000;
  var last = Date.now();
  var asking = false;
  var notice = null;

  ["pointerdown", "keydown", "wheel", "scroll", "input", "touchstart"].forEach(function (kind) {
    window.addEventListener(kind, function () { if (!notice) { last = Date.now(); } },
      { capture: true, passive: true });
  });

  function hide() {
    var main = document.getElementById("main");
    if (main) { main.hidden = true; }
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "alert alert-warn idle-notice";
      notice.setAttribute("role", "alert");
      notice.textContent = body.getAttribute("data-text-idle");
      (main && main.parentNode ? main.parentNode : body).insertBefore(notice, main || null);
    }
  }

  function show() {
    var main = document.getElementById("main");
    if (main) { main.hidden = false; }
    if (notice) { notice.remove(); notice = null; }
  }

  function toLogin(answer) {
    hide();
    answer.json().then(function (data) {
      return data && data.error && data.error.location;
    }, function () { return null; }).then(function (location) {
      var fallback = body.getAttribute("data-login-url") + "?next=" +
        encodeURIComponent(window.location.pathname + window.location.search);
      window.location.replace(location || fallback);
    });
  }

  function ask() {
    if (asking || Date.now() - last < limit) { return; }
    asking = true;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "X-Background": "1" } })
      .then(function (answer) {
        if (answer.status === 401) { toLogin(answer); return; }
        // Still held: she is using the platform elsewhere. Ask again later.
        show();
        last = Date.now() - limit + AGAIN_MS;
      }, function () {
        // No answer (no connection): hidden until the server has answered.
        hide();
      })
      .then(function () { asking = false; });
  }

  window.setInterval(ask, 5000);
  window.addEventListener("online", ask);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { ask(); }
  });
})();
