// CNN Playground: download, check and inflate a package archive (site-packages*.tar.gz).
//
// Also the memory snapshot (snapshot.bin.gz: the same steps; "tar" then means its inflated
// bytes). The page (loader.js) starts one of these workers per file as soon as it runs, so the
// reading and inflating happen on another core while the Python worker (app.js) starts; the
// job ({url, spec}) is the worker's name, so it starts without waiting for a message.
// From the page: {type: "port", port}, a MessagePort to the Python worker, which gets
// {type: "tar", tar, fromCache} (the tar's bytes, transferred) or {type: "error", message};
// then {type: "store"} once the start is over (the page is live, or failed), or {type:
// "drop"} (the Python worker could not start from this copy: keep nothing, drop the kept one).
// To the page: {type: "cp-bytes", file, bytes, fileDone} as the download goes, {type:
// "cp-timing", name, t}, then {type: "done"} or {type: "error", message}.
//
// The checked tar is kept in Cache Storage ("cp-packages", one entry per copy of the site,
// keyed by its sha256): a later visit reads it back instead of inflating it. Such a kept copy
// was checked (sha256) before it was stored; read back, it is used once its length is right,
// and its sha256 is checked again once the start is over, off the critical path: a copy that
// differs is dropped, so the next visit downloads it again (docs/SITE.md, "Kept copies").
//
// The ustar reader (cpTarFiles) is here too: app.js loads this file for it, and the build's
// snapshot maker (sitebuild/snapshot.mjs) runs it under Node.js.
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

// The tar kept by an earlier visit, if this browser has it and its length is right; else null.
async function keptTar(url, spec) {
  try {
    const cache = await caches.open(UNPACKED_CACHE);
    const hit = await cache.match(cacheKey(url, spec));
    if (!hit) return null;
    const tar = new Uint8Array(await hit.arrayBuffer());
    if (tar.length === spec.unpackedBytes) return tar;
    await cache.delete(cacheKey(url, spec)); // cut short: download it again
  } catch (e) {
    // No Cache Storage here (e.g. a private window): inflate every time.
  }
  return null;
}

// After a start from a kept copy: is it still the one that was checked? Read again (the
// bytes that were used went to the Python worker) and hashed; dropped if not.
async function checkKept(url, spec) {
  try {
    const cache = await caches.open(UNPACKED_CACHE);
    const hit = await cache.match(cacheKey(url, spec));
    if (!hit) return;
    const digest = hex(await crypto.subtle.digest("SHA-256", await hit.arrayBuffer()));
    if (digest !== spec.tarSha256) {
      console.warn(`CNN Playground: the kept copy of ${spec.file} was damaged ` +
                   `(sha256 ${digest}); the next visit downloads it again`);
      await cache.delete(cacheKey(url, spec));
    }
  } catch (e) {
    console.warn(`CNN Playground: the kept copy of ${spec.file} could not be checked:`, e);
  }
}

async function dropKept(url, spec) {
  try {
    await (await caches.open(UNPACKED_CACHE)).delete(cacheKey(url, spec));
  } catch (e) {
    // nothing kept, or no Cache Storage
  }
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

// The tar for `onTar(tar, fromCache)`: kept, or downloaded and checked. `settled` resolves
// to "store" once the start is over (writing or hashing tens of MB would take CPU from it)
// or to "drop": then a downloaded tar is not kept, and a kept one is deleted.
async function cpPackages(url, spec, onBytes, onTar, settled) {
  const kept = await keptTar(url, spec);
  if (kept) {
    onBytes(spec.size, true);
    onTar(kept, true);
    if ((await settled) === "drop") await dropKept(url, spec);
    else await checkKept(url, spec);
    return;
  }
  const tar = await cpLoadImage(url, spec, onBytes);
  const copy = new Response(tar, { headers: { "Content-Type": "application/x-tar" } });
  onTar(tar, false); // may transfer (detach) tar: the Response has a copy
  if ((await settled) === "drop") await dropKept(url, spec);
  else await storeTar(url, spec, copy);
}

function ascii(bytes, start, length) {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}

// Every regular file of a ustar archive (a Uint8Array): each(path, contents), `contents` a
// view into `tar` (no copy). Returns the number of files.
function cpTarFiles(tar, each) {
  let offset = 0;
  let count = 0;
  while (offset + 512 <= tar.length && tar[offset] !== 0) {
    const name = ascii(tar, offset, 100);
    const prefix = ascii(tar, offset + 345, 155);
    const size = parseInt(ascii(tar, offset + 124, 12).trim() || "0", 8);
    const type = tar[offset + 156];
    offset += 512;
    if (type === 0x30 || type === 0) {
      each((prefix ? prefix + "/" : "") + name, tar.subarray(offset, offset + size));
      count += 1;
    }
    offset += Math.ceil(size / 512) * 512;
  }
  return count;
}

if (typeof CP === "undefined" && self.name && typeof WorkerGlobalScope !== "undefined") {
  // A worker of its own, started by the page: the name is the job.
  const job = JSON.parse(self.name);
  const file = job.spec.file;
  let settle;
  const settled = new Promise((resolve) => { settle = resolve; });
  let gotPort;
  const port = new Promise((resolve) => { gotPort = resolve; });
  self.addEventListener("message", (event) => {
    const msg = event.data || {};
    if (msg.type === "port") gotPort(msg.port);
    else if (msg.type === "store" || msg.type === "drop") settle(msg.type);
  });
  const timing = (name) => self.postMessage({ type: "cp-timing", name: name,
                                              t: performance.timeOrigin + performance.now() });
  cpPackages(
    job.url, job.spec,
    (bytes, done) => self.postMessage({ type: "cp-bytes", file: file, bytes: bytes,
                                        fileDone: done }),
    (tar, fromCache) => {
      timing(`${job.label}-unpacked`);
      port.then((p) => p.postMessage({ type: "tar", tar: tar, fromCache: fromCache },
                                     [tar.buffer]));
    },
    settled,
  ).then(
    () => self.postMessage({ type: "done" }),
    (e) => {
      const message = String(e && e.message ? e.message : e);
      port.then((p) => {  // the Python worker first: the page ends this worker on "error"
        p.postMessage({ type: "error", message: message });
        self.postMessage({ type: "error", message: message });
      });
    },
  );
}
