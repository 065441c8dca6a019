/* The acute nurse's tablet reports where she is, for the coordinator's map.
 *
 * Loaded only for an acute nurse (see base.html). Uses the browser's
 * geolocation when she has allowed it; sends at most once a minute (the server
 * also ignores reports sooner than 30 s after the last). Without a location
 * (refused, no fix, no connection) nothing is sent and her shift page offers
 * the manual choice instead.
 *
 * Each report is an automatic request (X-Background): it does not keep her
 * session alive. Once the session has ended (401) the reports stop and the
 * tablet goes to the login page, so a tablet put down shows no citizen data.
 */
(function () {
  "use strict";
  var KEY = "tvaerakut.position.sent";
  var EVERY_MS = 60 * 1000;

  function csrf() {
    // The CSRF cookie is HttpOnly: the token comes from the page (htmx's headers).
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function due() {
    var last = Number(sessionStorage.getItem(KEY) || 0);
    return Date.now() - last >= EVERY_MS;
  }

  var timer = null;
  var ended = false;

  function signedOut(response) {
    ended = true;
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    return response.json().then(function (answer) {
      return (answer.error && answer.error.location) || "/login/";
    }, function () { return "/login/"; }).then(function (login) {
      window.location.assign(login);
    });
  }

  function send(url, position) {
    if (ended || !navigator.onLine || !due()) { return; }
    sessionStorage.setItem(KEY, String(Date.now()));
    var body = new URLSearchParams();
    body.append("latitude", position.coords.latitude.toFixed(6));
    body.append("longitude", position.coords.longitude.toFixed(6));
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "X-Requested-With": "fetch", "X-Background": "1" }
    }).then(function (response) {
      if (response.status === 401) { return signedOut(response); }
      document.body.dataset.positionReported = response.ok ? "yes" : "refused";
    }, function () { sessionStorage.removeItem(KEY); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var url = document.body.dataset.positionUrl;
    if (!url || !navigator.geolocation) { return; }
    var ask = function () {
      if (ended || !due()) { return; }
      navigator.geolocation.getCurrentPosition(
        function (position) { send(url, position); },
        function () { document.body.dataset.positionReported = "unavailable"; },
        { enableHighAccuracy: false, maximumAge: EVERY_MS, timeout: 20000 }
      );
    };
    ask();
    timer = window.setInterval(ask, EVERY_MS);
  });
})();
