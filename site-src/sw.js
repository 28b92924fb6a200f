// CNN Playground service worker: makes a second visit work without the network.
//
// On install it stores every file of this build (the list and version are filled in by
// build.py) in a cache named after the build; requests are answered from that cache first,
// so the app starts with the server stopped. Datasets (data/*.npz) are cached the first
// time they are fetched. A new build has a new version: it is cached in full, then the old
// cache is deleted. All URLs are relative to this file, so the site works from a sub-path.
"use strict";

const VERSION = /*@CP_VERSION@*/;
const PRECACHE = /*@CP_PRECACHE@*/;
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
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
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
