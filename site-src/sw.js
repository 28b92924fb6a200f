// CNN Playground service worker: a second visit starts without the network, and a site that
// changed on its server shows up as soon as the learner agrees to reload.
//
// On install it stores every file of this build (the list and the version, a hash of every
// file's contents, are filled in by build.py) in a cache named after this copy of the site
// and the build; requests are answered from that cache first, so the app starts with the
// server stopped. Datasets (data/*.npz) are cached afterwards, in the background, or when
// first fetched. All URLs are relative to this file, so the site works from a sub-path.
//
// Updates. Once the page is live it tells this worker ({type: "cp-live"}), and a page left
// open asks again from time to time ({type: "cp-check"}); each time this worker asks the
// server what it holds now, revalidating whatever the browser's HTTP cache has (checkSite):
// - a sw.js with another version: a rebuilt site. The browser installs the new worker, which
//   caches the new build in full and then waits; the page offers to reload, and on "Reload"
//   ({type: "cp-activate"}) it takes over and the old build's cache is deleted. Learners who
//   ignore the offer get the new build the next time they open the page.
// - the same version but an HTML page that differs (edited by hand on the server): the new
//   page replaces the cached one and the open pages are told ({type: "cp-new-version"}).
// - sw.js answers 404 or 410: the site was taken down. This worker unregisters itself and
//   deletes this copy's caches, so the next visit asks the server.
// - no answer (offline, server stopped): nothing changes.
"use strict";

const VERSION = /*@CP_VERSION@*/;
const PRECACHE = /*@CP_PRECACHE@*/;
// Datasets (several MB each): cached once a page is live (afterStart).
const LATER = /*@CP_LATER@*/;
const SCOPE = new URL("./", self.location.href).href;
// One cache per copy of the site and build: two copies on one origin (say /courses/a/ and
// /courses/b/) never delete each other's.
const CACHE_PREFIX = "cnn-playground " + SCOPE + " ";
const CACHE = CACHE_PREFIX + VERSION;
// The package archive unpack.js keeps for the next visit: one entry per copy of the site,
// named after the archive's address.
const PACKAGES_CACHE = "cp-packages";
const PACKAGES_URL = new URL("pyodide/", SCOPE).href;
const PAGES = PRECACHE.filter((path) => path === "./" || path.endsWith(".html"));

function isOurs(cacheName) {
  // Caches named by version alone ("cnn-playground-" + 16 hex digits) cannot tell which copy
  // of the site wrote them: any copy may delete them.
  return cacheName.startsWith(CACHE_PREFIX) || /^cnn-playground-[0-9a-f]{16}$/.test(cacheName);
}

self.addEventListener("install", (event) => {
  // No skipWaiting(): while an older build runs in an open page, the new one waits until
  // the learner reloads (or closes every page of the site).
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(
      PRECACHE.map((path) => new Request(new URL(path, SCOPE), { cache: "no-cache" }))))
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(
        keys.filter((k) => isOurs(k) && k !== CACHE).map((k) => caches.delete(k))))
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
        .match(request.url, { cacheName: CACHE, ignoreSearch: true })
        .then((cached) => cached ? new Response(null, { status: cached.status, headers: cached.headers }) : fetch(request))
    );
    return;
  }
  if (request.method !== "GET") return;
  event.respondWith(
    (async () => {
      // Pages carry the model in their query string (?dataset=…&layers=…), and Panel adds
      // ?v=… to stylesheets: the cached file is the same whatever the query. (caches.match
      // with a cacheName does not recreate a cache deleted by removeSite.)
      const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok && new URL(request.url).pathname.endsWith(".npz")) {
        const cache = await caches.open(CACHE);
        await cache.put(request, response.clone());
      }
      return response;
    })()
  );
});

self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "cp-activate") {
    self.skipWaiting();
  } else if (type === "cp-live" || type === "cp-check") {
    event.waitUntil(afterStart());
  }
});

// After a page went live, and whenever it asks again: look for a newer site, then cache the
// datasets of this build (those a dropped connection left out).
async function afterStart() {
  const news = await checkSite();
  if (news === "removed" || news === "new build") return;
  if (news === "pages") await tellPages({ type: "cp-new-version" });
  await cacheDatasets();
}

// What the server holds now, compared with this build: "removed", "new build", "pages"
// (an HTML page changed), or null (the same, or no answer).
async function checkSite() {
  let response;
  try {
    response = await fetch(self.location.href, { cache: "no-cache" });
  } catch (e) {
    return null; // offline or server stopped: the cached build is all there is
  }
  if (response.status === 404 || response.status === 410) {
    await removeSite();
    return "removed";
  }
  if (!response.ok || response.redirected) return null; // a server error, a login page…
  if (!(await response.text()).includes(JSON.stringify(VERSION))) {
    // The browser installs it (its install handler caches the new build), then it waits.
    await self.registration.update()
      .catch((err) => console.warn("CNN Playground: the new build was not installed:", err));
    return "new build";
  }
  return (await refreshPages()) ? "pages" : null;
}

// The HTML pages are small, and they are what a teacher may edit by hand without rebuilding:
// compare each with the server's copy and keep the server's for the next load.
async function refreshPages() {
  const cache = await caches.open(CACHE);
  const changed = await Promise.all(PAGES.map(async (path) => {
    const url = new URL(path, SCOPE).href;
    try {
      const response = await fetch(url, { cache: "no-cache" });
      // A redirected response cannot answer a navigation.
      if (!response.ok || response.redirected) return false;
      const fresh = new Uint8Array(await response.clone().arrayBuffer());
      const cached = await cache.match(url);
      if (cached && sameBytes(fresh, new Uint8Array(await cached.arrayBuffer()))) return false;
      await cache.put(url, response);
      return true;
    } catch (e) {
      return false; // the connection dropped: keep what we have
    }
  }));
  return changed.includes(true);
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function removeSite() {
  await self.registration.unregister();
  for (const key of await caches.keys()) {
    if (isOurs(key)) await caches.delete(key);
  }
  if (await caches.has(PACKAGES_CACHE)) {
    const packages = await caches.open(PACKAGES_CACHE);
    for (const request of await packages.keys()) {
      if (request.url.startsWith(PACKAGES_URL)) await packages.delete(request);
    }
  }
}

async function tellPages(message) {
  for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage(message);
}

async function cacheDatasets() {
  try {
    const cache = await caches.open(CACHE);
    await Promise.all(LATER.map(async (path) => {
      const url = new URL(path, SCOPE).href;
      if (await cache.match(url)) return;
      const response = await fetch(url);
      if (response.ok) await cache.put(url, response);
    }));
  } catch (err) {
    console.warn("CNN Playground: datasets not cached for offline use:", err);
  }
}
