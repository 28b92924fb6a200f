// CNN Playground service worker: makes a second visit work without the network.
//
// On install it stores every file of this build (the list and version are filled in by
// build.py) in a cache named after the build; requests are answered from that cache first,
// so the app starts with the server stopped. Datasets (data/*.npz) are cached afterwards,
// in the background, when the page asks (after it is live), or when first fetched. A new
// build has a new version: it is cached in full, then the old cache is deleted. All URLs
// are relative to this file, so the site works from a sub-path.
"use strict";

const VERSION = /*@CP_VERSION@*/;
const PRECACHE = /*@CP_PRECACHE@*/;
// Datasets (several MB each): cached after the page is live, when the page asks.
const LATER = /*@CP_LATER@*/;
const CACHE = "cnn-playground-" + VERSION;
const SCOPE = new URL("./", self.location.href).href;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((path) => new Request(new URL(path, SCOPE), { cache: "no-cache" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("cnn-playground-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (!request.url.startsWith(SCOPE)) return;
  if (request.method === "HEAD") {
    // Lazy dataset files first ask for their size with HEAD: answer from the cache too.
    event.respondWith(
      caches
        .open(CACHE)
        .then((cache) => cache.match(request.url, { ignoreSearch: true }))
        .then((cached) => cached ? new Response(null, { status: cached.status, headers: cached.headers }) : fetch(request))
    );
    return;
  }
  if (request.method !== "GET") return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      // Pages carry the model in their query string (?dataset=…&layers=…), and Panel adds
      // ?v=… to stylesheets: the cached file is the same whatever the query.
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok && new URL(request.url).pathname.endsWith(".npz")) {
        cache.put(request, response.clone());
      }
      return response;
    })()
  );
});

self.addEventListener("message", (event) => {
  if (!event.data || event.data.type !== "cp-cache-datasets") return;
  event.waitUntil(
    caches.open(CACHE).then((cache) => Promise.all(LATER.map(async (path) => {
      const url = new URL(path, SCOPE).href;
      if (await cache.match(url)) return;
      const response = await fetch(url);
      if (response.ok) await cache.put(url, response);
    }))).catch((err) => console.warn("CNN Playground: datasets not cached for offline use:", err))
  );
});
