// CNN Playground: download, check and inflate a package archive (site-packages*.tar.gz).
//
// Also the memory snapshot (snapshot.bin.gz: the same steps; "tar" then means its inflated
// bytes). Started by the Python worker (app.js) as a worker of its own, so the inflating runs
// on another core while Python boots. The job ({url, spec, channel}) is the worker's name.
// Messages out: {type: "bytes", bytes, done} as the download goes (or, if the job names a
// channel, {type: "cp-bytes", …} on that BroadcastChannel, to the page); {type: "tar", tar,
// fromCache} (the tar's bytes, transferred); then, after the parent's {type: "store"},
// {type: "done"} once it is stored for the next visit, or {type: "error", message}. Where
// nested workers do not exist, app.js loads this file with importScripts and calls
// cpPackages itself.
//
// The checked tar is kept in Cache Storage ("cp-packages", one entry per copy of the site,
// keyed by its sha256): a later visit reads it back (checked again) instead of inflating
// 54 MB.
"use strict";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readAll(stream) {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function cpLoadImage(url, spec, onBytes) {
  const name = spec.file;
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`Could not download ${name}: ${e && e.message ? e.message : e}`);
  }
  if (!response.ok) {
    throw new Error(`Could not download ${name}: HTTP ${response.status} ${response.statusText}`);
  }
  // Report progress as the bytes arrive: this is the largest download of the page.
  let pending = 0;
  const counter = new TransformStream({
    transform(chunk, controller) {
      pending += chunk.byteLength;
      if (pending >= 1 << 20) {
        onBytes(pending, false);
        pending = 0;
      }
      controller.enqueue(chunk);
    },
  });
  const [forHash, forTar] = response.body.pipeThrough(counter).tee();
  const received = readAll(forHash);
  // Some hosts send .gz files with "Content-Encoding: gzip": the browser then hands us the tar
  // itself. Look at the first bytes to know which of the two arrived.
  const reader = forTar.getReader();
  const first = await reader.read();
  const rest = new ReadableStream({
    start(controller) {
      if (!first.done) controller.enqueue(first.value);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
  const gzipped = !first.done && first.value[0] === 0x1f && first.value[1] === 0x8b;
  if (gzipped && typeof DecompressionStream === "undefined") {
    throw new Error("This browser cannot unpack the playground (no DecompressionStream): " +
                    "use a current Chrome, Edge, Firefox or Safari.");
  }
  const tar = await readAll(gzipped ? rest.pipeThrough(new DecompressionStream("gzip")) : rest);
  const bytes = await received;
  const digest = hex(await crypto.subtle.digest("SHA-256", gzipped ? bytes : tar));
  const expected = gzipped ? spec.sha256 : spec.tarSha256;
  if (digest !== expected) {
    throw new Error(`Could not use ${name}: its sha256 is ${digest}, expected ${expected} ` +
                    "(a damaged or partial copy of the site?)");
  }
  onBytes(pending, true);
  return tar;
}

const UNPACKED_CACHE = "cp-packages";

function cacheKey(url, spec) {  // "site-packages.tar?sha256=…" next to the .gz
  return new URL(spec.file.replace(/\.gz$/, "") + "?sha256=" + spec.tarSha256, url).href;
}

// The tar from an earlier visit, if this browser kept it and it is still intact; else null.
async function cachedTar(url, spec) {
  try {
    const cache = await caches.open(UNPACKED_CACHE);
    const hit = await cache.match(cacheKey(url, spec));
    if (!hit) return null;
    const tar = new Uint8Array(await hit.arrayBuffer());
    if (tar.length === spec.unpackedBytes &&
        hex(await crypto.subtle.digest("SHA-256", tar)) === spec.tarSha256) {
      return tar;
    }
    await cache.delete(cacheKey(url, spec)); // damaged: download it again
  } catch (e) {
    // No Cache Storage here (e.g. a private window): inflate every time.
  }
  return null;
}

async function storeTar(url, spec, response) {
  try {
    const cache = await caches.open(UNPACKED_CACHE);
    const key = cacheKey(url, spec);
    // One entry per copy of the site (its path): replace that copy's older build only, so
    // two copies on one origin (say /courses/a/ and /courses/b/) do not evict each other.
    const path = new URL(key).pathname;
    for (const old of await cache.keys()) {
      if (new URL(old.url).pathname === path) await cache.delete(old);
    }
    await cache.put(key, response);
  } catch (e) {
    console.warn("CNN Playground: packages not kept for the next visit:", e);
  }
}

// `storeWhen`: the tar is kept for the next visit once it resolves (the Python worker says
// when the page is live: writing tens of MB into Cache Storage would take CPU from the start).
async function cpPackages(url, spec, onBytes, onTar, storeWhen = Promise.resolve()) {
  const cached = await cachedTar(url, spec);
  if (cached) {
    onBytes(spec.size, true);
    onTar(cached, true);
    return;
  }
  const tar = await cpLoadImage(url, spec, onBytes);
  const copy = new Response(tar, { headers: { "Content-Type": "application/x-tar" } });
  onTar(tar, false); // may transfer (detach) tar: the Response has a copy
  await storeWhen;
  await storeTar(url, spec, copy);
}

if (typeof CP === "undefined" && self.name) {  // running as its own worker: name = the job
  const job = JSON.parse(self.name);
  // Progress goes straight to the page when it gave a channel (the parent may be busy).
  const page = job.channel && typeof BroadcastChannel !== "undefined"
    ? new BroadcastChannel(job.channel) : null;
  cpPackages(
    job.url, job.spec,
    (bytes, done) => page
      ? page.postMessage({ type: "cp-bytes", file: job.spec.file, bytes: bytes, fileDone: done })
      : self.postMessage({ type: "bytes", bytes: bytes, done: done }),
    (tar, fromCache) => self.postMessage({ type: "tar", tar: tar, fromCache: fromCache },
                                         [tar.buffer]),
    new Promise((resolve) => self.addEventListener("message", (event) => {
      if (event.data && event.data.type === "store") resolve();
    })),
  ).then(
    () => self.postMessage({ type: "done" }),
    (e) => self.postMessage({ type: "error", message: String(e && e.message ? e.message : e) }),
  );
}
