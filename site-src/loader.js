// CNN Playground: the loading screen, the offline copy and the offer of a new version.
//
// build.py puts this script first in <head> (and fills in /*@…@*/ below); it starts the Pyodide
// worker and the workers that read the package archive and the memory snapshot (unpack.js),
// and Panel's page script takes the Pyodide worker over with `cpLoader.worker()`. The workers
// report {type: 'cp-bytes' | 'cp-progress' | 'cp-timing' | 'cp-start' | 'cp-kernel' |
// 'cp-error'} messages; this file turns them into the step list, the progress bar and a clear
// message on failure.
// window.cpLoadTimings holds milliseconds since navigation for each milestone (benchmarks).
// Once the app is live it registers the service worker (sw.js), which keeps the site for
// offline use and looks for a newer one on the server; the page then offers to reload.
"use strict";

(function () {
  // The large files the loading card counts ({file: bytes}), and the unpack.js jobs: the
  // first package archive (`image`), the one needed once live (`laterImage`), the memory
  // snapshot (`snapshot`, or null): {file, size, unpackedBytes, sha256, tarSha256}.
  const START = /*@CP_START@*/;
  const STAGES = ["runtime", "packages", "app", "render"];
  const timings = (window.cpLoadTimings = {});
  let failed = false;
  let live = false;

  function mark(name, absolute) {
    const t = absolute === undefined ? performance.now() : absolute - performance.timeOrigin;
    timings[name] = Math.round(t);
  }

  function $(id) {
    return document.getElementById(id);
  }

  // This script runs in <head>, before the loading card exists: act on it once it does
  // (callbacks run in the order they were queued).
  function whenParsed(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn, { once: true });
    } else {
      fn();
    }
  }

  function setStage(name) {
    const idx = STAGES.indexOf(name);
    document.querySelectorAll("#cp-loader [data-stage]").forEach((li) => {
      const i = STAGES.indexOf(li.dataset.stage);
      li.classList.toggle("cp-done", i < idx);
      li.classList.toggle("cp-active", i === idx);
    });
  }

  function setProgress(fraction) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    const bar = document.querySelector("#cp-loader .cp-loader-bar");
    if (!bar) return;
    bar.setAttribute("aria-valuenow", String(pct));
    bar.querySelector(".cp-loader-bar-fill").style.width = pct + "%";
  }

  function setDetail(text) {
    const el = $("cp-loader-detail");
    if (el) el.textContent = text;
  }

  const MB = (b) => (b / 1e6).toFixed(1) + " MB";
  const seconds = () => (performance.now() / 1000).toFixed(1) + " s";

  function fail(stage, message, detailText, hint) {
    if (document.readyState === "loading") {  // the worker can fail before <body> exists
      whenParsed(() => fail(stage, message, detailText, hint));
      return;
    }
    if (failed) return;
    failed = true;
    mark("failed");
    settle(); // a kept copy that broke this start is checked, and dropped if damaged
    const loader = $("cp-loader");
    if (!loader) return;
    loader.hidden = false;
    document.querySelectorAll("#cp-loader [data-stage]").forEach((li) => {
      if (li.dataset.stage === stage || (!stage && li.classList.contains("cp-active"))) {
        li.classList.remove("cp-active");
        li.classList.add("cp-failed");
      }
    });
    $("cp-loader-error").hidden = false;
    $("cp-loader-error-msg").textContent = message;
    $("cp-loader-error-hint").textContent =
      hint ||
      (navigator.onLine === false
        ? "You seem to be offline and this browser has not cached the playground yet: connect once, load the page, and it will work offline afterwards."
        : "Reload to try again. If it keeps failing, the site folder may be incomplete: rebuild it with `python3 build.py build`.");
    $("cp-loader-error-detail").textContent = detailText || message;
    setDetail("Stopped after " + seconds() + ".");
    document.documentElement.dataset.cpLoad = "failed";
  }

  function onLive() {
    if (live || failed) return;
    live = true;
    mark("live");
    settle();
    document.documentElement.dataset.cpLoad = "live";
    const loader = $("cp-loader");
    if (loader) loader.hidden = true;
    offline.then((refusal) => {
      if (!refusal) keepForOffline();
    });
    if (offerPending) offerReload();
  }

  // Download progress: byte counts as files arrive (from the workers). Each file named in the
  // sizes counts once (a fallback start fetches Pyodide's files a second time), so the count
  // never passes the total. `?snapshot=0` (comparisons, tests) starts Python without the
  // memory snapshot, so the second package archive comes before the page is live instead.
  const withSnapshot = !!START.snapshot &&
    new URLSearchParams(location.search).get("snapshot") !== "0";
  const sizes = Object.assign({}, START.sizes);
  if (START.snapshot && !withSnapshot) delete sizes[START.snapshot.file];
  if (START.laterImage && !withSnapshot) sizes[START.laterImage.file] = START.laterImage.size;
  const totalBytes = Object.values(sizes).reduce((a, b) => a + b, 0);
  let doneBytes = 0;
  const doneFiles = new Set();

  function onMessage(event) {
    if (document.readyState === "loading") {
      // Early news is shown once the card exists (in arrival order; timings carry their
      // own time).
      whenParsed(() => onMessage(event));
      return;
    }
    const msg = event.data || {};
    if (msg.type === "cp-timing") {
      mark(msg.name, msg.t);
    } else if (msg.type === "cp-start") {
      document.documentElement.dataset.cpStart = msg.how; // "snapshot" or "full"
      // Python could not start from the snapshot: do not keep it (or drop the kept copy).
      if (msg.how === "full" && unpackers[START.snapshot && START.snapshot.file]) {
        unpackers[START.snapshot.file].postMessage({ type: "drop" });
      }
    } else if (msg.type === "cp-unpack") {
      const spec = START.laterImage;
      if (spec && msg.file === spec.file) unpack(spec, "later-packages");
    } else if (msg.type === "cp-kernel") {
      document.documentElement.dataset.cpKernel = msg.name; // pycnn's matrix products
    } else if (msg.type === "cp-bytes") {
      if (!(msg.file in sizes) || doneFiles.has(msg.file)) return;
      doneBytes += msg.bytes;
      if (msg.fileDone) doneFiles.add(msg.file);
      if (totalBytes) {
        const files = Object.keys(sizes).length;
        setProgress(0.75 * Math.min(1, doneBytes / totalBytes));
        setDetail(`Downloaded ${doneFiles.size} of ${files} files ` +
                  `(${MB(Math.min(doneBytes, totalBytes))} of ${MB(totalBytes)}): ${msg.file}`);
      }
    } else if (msg.type === "cp-progress") {
      if (msg.stage) setStage(msg.stage);
      if (msg.text) {
        if (msg.stage === "app") setProgress(0.85);
        if (msg.stage === "render") setProgress(0.95);
        setDetail(msg.text + " (" + seconds() + ")");
      }
    } else if (msg.type === "cp-error") {
      fail(msg.stage, msg.message, msg.detail);
    } else if (msg.type === "render") {
      setStage("render");
    }
  }

  function watchForLive() {
    // Panel removes `pn-loading` from <body> once the live document is embedded.
    const body = document.body;
    const check = () => {
      if (document.documentElement.dataset.cpLoad === "render" && !body.classList.contains("pn-loading")) {
        onLive();
        return true;
      }
      return false;
    };
    new MutationObserver(() => check()).observe(body, { attributes: true, attributeFilter: ["class"] });
  }

  // navigator.serviceWorker, or null where there is none (pages over plain HTTP; the getter
  // throws in a sandboxed frame).
  function serviceWorkers() {
    try {
      return navigator.serviceWorker || null;
    } catch (err) {
      return null;
    }
  }

  // Can the browser keep this site for offline use here? Resolves to null if it can, else to
  // why not. Asked at once (of the browser, not the network), so the loading card never
  // promises what the browser will refuse: pages embedded in another site usually get no
  // service worker and no Cache Storage.
  function offlineRefusal() {
    if (location.protocol === "file:") return Promise.resolve(null); // fails anyway, see below
    if (!window.isSecureContext) {
      return Promise.resolve("browsers keep a copy only of pages that come over HTTPS " +
                             "or from this computer (localhost).");
    }
    const noStorage = window.top !== window.self
      ? "this browser does not let a page embedded in another site store files " +
        "(open the playground in a tab of its own for that)."
      : "this browser does not let the page store files " +
        "(a private window, or site data blocked in its settings).";
    if (!serviceWorkers()) return Promise.resolve(noStorage);
    try {
      return caches.keys().then(() => null, () => noStorage);
    } catch (err) {
      return Promise.resolve(noStorage);
    }
  }

  const offline = offlineRefusal();
  offline.then((refusal) => {
    if (!refusal) return;
    document.documentElement.dataset.cpOffline = "unavailable";
    whenParsed(() => {
      const note = $("cp-loader-offline");
      if (note) note.textContent = "it cannot be kept for offline use here: " + refusal;
    });
  });

  // News from the service worker can come at any time, even while this page loads: a newer
  // site is ready (cp-new-version: sw.js refreshed the cached pages), or another tab of this
  // site switched to a new build. A page the service worker served may be an old build; a
  // page from the network is not.
  const container = serviceWorkers();
  const fromCache = !!(container && container.controller);
  let registration = null;
  let reloading = false;
  let offerPending = false;
  if (container) {
    container.addEventListener("message", (event) => {
      if (event.data && event.data.type === "cp-new-version") offerReload();
    });
    container.addEventListener("controllerchange", () => {
      if (reloading) location.reload();
      else if (fromCache) offerReload();
    });
  }

  // After the app is live (never earlier: keeping the site must not slow its start): register
  // sw.js and tell it the page is live; it then compares the site on the server with the
  // build it serves (sw.js: checkSite) and installs a new build in the background.
  function keepForOffline() {
    container
      .register("sw.js", { scope: "./" })
      .then((reg) => {
        registration = reg;
        watchForNewBuild(reg);
        return container.ready;
      })
      .then((reg) => {
        document.documentElement.dataset.cpOffline = "ready";
        reg.active.postMessage({ type: "cp-live" });
        checkWhileOpen();
      })
      .catch((err) => {
        // Offline use is a bonus: the page works without it.
        console.warn("CNN Playground: offline copy unavailable:", err);
        document.documentElement.dataset.cpOffline = "unavailable";
      });
  }

  // A new build is cached by its own service worker, which then waits: offer it once it is
  // complete (so it also starts offline). The very first install is no update.
  function watchForNewBuild(reg) {
    const offerWhenInstalled = (worker) => {
      if (!worker) return;
      const check = () => {
        if (worker.state === "installed" && container.controller) offerReload();
      };
      worker.addEventListener("statechange", check);
      check();
    };
    offerWhenInstalled(reg.waiting);
    offerWhenInstalled(reg.installing);
    reg.addEventListener("updatefound", () => offerWhenInstalled(reg.installing));
  }

  // A tab left open for hours (a classroom's) asks the service worker again whether the site
  // changed, with the check it makes at start-up (sw.js: checkSite): every CHECK_EVERY_MS, a
  // few seconds after the browser is back online (the event can come before requests get
  // through, and a failed check changes nothing) and when the tab is shown again. A check is
  // one small request for sw.js (and the HTML pages when it is unchanged), revalidated against
  // the HTTP cache. Once a new version was offered there is nothing more to learn, and
  // "Not now" stays so.
  const CHECK_EVERY_MS = 15 * 60 * 1000;
  const ONLINE_SETTLE_MS = 5000;
  let offered = false;

  function checkWhileOpen() {
    const checkAgain = () => {
      const active = registration && registration.active;
      if (active && !offered && !document.hidden) active.postMessage({ type: "cp-check" });
    };
    setInterval(checkAgain, CHECK_EVERY_MS);
    window.addEventListener("online", () => setTimeout(checkAgain, ONLINE_SETTLE_MS));
    document.addEventListener("visibilitychange", checkAgain);
  }

  function offerReload() {
    offered = true;
    offerPending = !live; // shown once the app is live
    const notice = $("cp-update-notice");
    if (live && notice) notice.hidden = false;
  }

  function reloadIntoNewVersion() {
    const waiting = registration && registration.waiting;
    if (waiting) {
      // The new build takes over (its cache is complete), then this page reloads into it.
      reloading = true;
      waiting.postMessage({ type: "cp-activate" });
    } else {
      location.reload(); // the cached pages were refreshed (sw.js: refreshPages)
    }
  }

  // The worker starts as soon as this script runs (first thing in <head>), so Python boots
  // while the page downloads and parses BokehJS. Panel's page script, further down, takes it
  // over with cpLoader.worker(); messages for Panel that arrive before then are replayed.
  let worker = null;
  let handedOver = false;
  const early = [];

  // This page's address (window.location as JSON, as Panel's page script later sends it)
  // and the lesson progress this browser keeps (localStorage keys starting with
  // playground.lesson.storage.KEY_PREFIX; Python picks its own: LessonStore).
  function pageForWorker() {
    const page = JSON.parse(JSON.stringify(location));
    try {
      const kept = {};
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (key && key.startsWith("cnn-playground:lesson:")) kept[key] = localStorage.getItem(key);
      }
      page.cpStorage = kept;
    } catch (err) {
      // storage refused: the page reads it after the first render and says why
    }
    return page;
  }

  // unpack.js workers by file: each reads its file (the copy this browser kept, or a download)
  // on a core of its own and hands the bytes straight to the Python worker through a
  // MessagePort; their progress comes here. Started as this script runs, not by the Python
  // worker: that one is busy loading app.js and Pyodide's scripts first.
  const unpackers = {};
  let settled = null; // "store" once the start is over (live or failed)

  function unpack(spec, label) {
    if (!worker || unpackers[spec.file]) return;
    const url = new URL("pyodide/" + spec.file, location.href).href;
    const tell = (message) => worker.postMessage(
      { type: "cp-unpack-failed", file: spec.file, message: message });
    let unpacker;
    try {
      unpacker = new Worker("./unpack.js", { name: JSON.stringify({ url, spec, label }) });
    } catch (err) {
      tell(String(err && err.message ? err.message : err));
      return;
    }
    unpackers[spec.file] = unpacker;
    const channel = new MessageChannel();
    unpacker.postMessage({ type: "port", port: channel.port1 }, [channel.port1]);
    worker.postMessage({ type: "cp-unpacker", file: spec.file, port: channel.port2 },
                       [channel.port2]);
    if (settled) unpacker.postMessage({ type: settled });
    unpacker.onmessage = (event) => {
      const type = event.data && event.data.type;
      if (type === "done" || type === "error") unpacker.terminate(); // the error went to app.js too
      else onMessage(event);
    };
    unpacker.onerror = (event) => {
      event.preventDefault();
      unpacker.terminate();
      tell(event.message || "unpack.js could not be loaded");
    };
  }

  // The start is over: unpack.js keeps what it downloaded, or checks the copy it read.
  function settle() {
    if (settled) return;
    settled = "store";
    for (const unpacker of Object.values(unpackers)) unpacker.postMessage({ type: settled });
  }

  function start() {
    if (location.protocol === "file:") return; // see DOMContentLoaded below
    // The worker's name carries what the page knows, so Python builds the first page with
    // the model of a shared link and the learner's lesson step (playground/runtime.py:
    // fill_location_from_page, page_from_loader).
    try {
      worker = new Worker("./app.js", { name: JSON.stringify({ page: pageForWorker() }) });
    } catch (err) {
      workerRefused(err);
      return;
    }
    mark("worker-created");
    unpack(START.image, "packages");
    if (withSnapshot) unpack(START.snapshot, "snapshot");
    worker.addEventListener("message", (event) => {
      if (event.cpReplayed) return;
      const type = event.data && event.data.type;
      if (!handedOver && !String(type).startsWith("cp-")) early.push(event.data);
      if (type === "render") {
        document.documentElement.dataset.cpLoad = "render";
        mark("render-start");
      }
      onMessage(event);
    });
    worker.addEventListener("error", (event) => {
      // Without a message the script itself did not load (missing, or refused by the server).
      const where = `${event.filename || "app.js"}:${event.lineno || ""}`;
      fail(null, event.message ? "The Python worker crashed: " + event.message
                               : "The Python worker (app.js) could not be loaded.",
           `${event.message || "no script"}\n${where}`);
    });
  }

  // The browser would not create the worker at all.
  function workerRefused(err) {
    const detail = String(err && err.message ? err.message : err);
    if (window.origin === "null") {
      // A frame sandboxed without allow-same-origin has no origin of its own, so it may not
      // start workers from this site (nor keep it for offline use).
      fail("runtime", "The page this playground is embedded in does not allow it to run Python.",
           detail,
           "The embedding page's <iframe> is sandboxed: it must allow scripts and the " +
           "playground's own origin, with sandbox=\"allow-scripts allow-same-origin\" (or no " +
           "sandbox attribute). Until then, open the playground in a tab of its own.");
    } else {
      fail("runtime", "The browser refused to start the Python worker.", detail);
    }
  }

  window.cpLoader = {
    worker() {
      if (!worker) {
        // None could be created (the card says why): Panel's script gets an object that
        // takes its handlers and does nothing, instead of failing on null.
        return { postMessage() {} };
      }
      if (!handedOver) {
        handedOver = true;
        // The page sets its handlers right after this call: replay once they exist.
        setTimeout(() => {
          for (const data of early.splice(0)) {
            const event = new MessageEvent("message", { data: data });
            event.cpReplayed = true;
            worker.dispatchEvent(event);
          }
        }, 0);
      }
      return worker;
    },
  };
  start();

  document.addEventListener("DOMContentLoaded", () => {
    document.documentElement.dataset.cpLoad = document.documentElement.dataset.cpLoad || "loading";
    const total = $("cp-loader-total");
    if (total) total.textContent = MB(totalBytes);
    watchForLive();
    const notice = $("cp-update-notice");
    if (notice) {
      notice.querySelector(".cp-update").addEventListener("click", reloadIntoNewVersion);
      notice.querySelector(".cp-update-later").addEventListener("click", () => { notice.hidden = true; });
    }
    if (location.protocol === "file:") {
      fail(null, "This page was opened as a file, but Python in the browser needs a web server.",
           location.href,
           "Open a terminal in the site folder and run `python3 serve.py`, then open the address it prints (http://127.0.0.1:8000/).");
    }
  });
})();
