/* The nurse's day, readable without a network (docs/decisions/0013).
 *
 * Served at the root (/sw.js) so it controls every page. Network first: online
 * a page always comes from the server (and the server's access gate); the copy
 * kept here is what is shown when the network is gone.
 *
 * - Static files and the start page are kept in "static-v1" (no citizen data).
 * - The visit list and her open visits are kept in "pages-<owner>", one cache
 *   for the signed-in user on this tablet (the page tells the worker her
 *   opaque owner name). A page of another owner clears it; so does logout
 *   (Clear-Site-Data) and offline.js before it.
 * - The visit list tells the worker which visits are hers now: the others are
 *   dropped, the missing ones fetched, so a reassigned visit is never kept.
 *   A visit page the server no longer shows her is dropped as well.
 */
"use strict";

const STATIC_CACHE = "static-v1";
const PAGES_PREFIX = "pages-";
const VISIT_PAGE = /^\/nurse\/visits\/\d+\/$/;
const PAGES = [/^\/$/, /^\/nurse\/visits\/$/, VISIT_PAGE];

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name !== STATIC_CACHE && !name.startsWith(PAGES_PREFIX))
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function pagesCache() {
  return caches.keys().then((names) => names.find((name) => name.startsWith(PAGES_PREFIX)) || null);
}

function forOwner(owner) {
  // One owner's pages at a time: anyone else's go first.
  const mine = PAGES_PREFIX + owner;
  return caches
    .keys()
    .then((names) =>
      Promise.all(
        names
          .filter((name) => name.startsWith(PAGES_PREFIX) && name !== mine)
          .map((name) => caches.delete(name)),
      ),
    )
    .then(() => caches.open(mine));
}

function keepOnly(owner, urls) {
  return forOwner(owner).then((cache) =>
    cache.keys().then((requests) => {
      const wanted = new Set(urls.map((url) => new URL(url, self.location.origin).pathname));
      const kept = new Set();
      const drops = requests
        .filter((request) => {
          const path = new URL(request.url).pathname;
          if (!VISIT_PAGE.test(path)) return false;
          if (wanted.has(path)) {
            kept.add(path);
            return false;
          }
          return true;
        })
        .map((request) => cache.delete(request));
      const fetches = Array.from(wanted)
        .filter((path) => !kept.has(path))
        .map((path) =>
          // Kept for her by the worker, not asked by her: it does not keep her session alive.
          fetch(path, { credentials: "same-origin", headers: { "X-Background": "1" } }).then(
            (response) => (storable(response) ? cache.put(path, response) : null),
            () => null,
          ),
        );
      return Promise.all(drops.concat(fetches));
    }),
  );
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "owner" && typeof data.owner === "string" && data.owner) {
    const urls = Array.isArray(data.visits) ? data.visits : null;
    event.waitUntil(urls ? keepOnly(data.owner, urls) : forOwner(data.owner));
  } else if (data.type === "clear") {
    event.waitUntil(caches.keys().then((names) => Promise.all(names.map((name) => caches.delete(name)))));
  }
});

function storable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

function networkFirst(request, cacheName) {
  return fetch(request).then(
    (response) => {
      if (!cacheName) return response;
      return caches.open(cacheName).then((cache) => {
        if (storable(response)) {
          return cache.put(request, response.clone()).then(() => response);
        }
        // Not hers any more (refused, or signed out): keep no copy of it.
        return cache.delete(request).then(() => response);
      });
    },
    // Vary (Cookie, Accept-Language) is ignored: the pages cache is hers alone.
    () =>
      (cacheName
        ? caches.open(cacheName).then((cache) => cache.match(request, { ignoreVary: true }))
        : Promise.resolve(null)
      ).then((kept) => kept || Response.error()),
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/") || url.pathname === "/favicon.ico") {
    event.respondWith(networkFirst(request, STATIC_CACHE));
    return;
  }
  if (url.search || !PAGES.some((pattern) => pattern.test(url.pathname))) return;
  event.respondWith(pagesCache().then((name) => networkFirst(request, name)));
});
