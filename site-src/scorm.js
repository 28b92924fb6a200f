// CNN Playground inside a learning management system (LMS): SCORM 1.2 reporting.
//
// build.py loads this script in <head> (deferred), after loader.js. An LMS that launches the page
// as a SCORM 1.2 package (`python3 build.py scorm`) puts its run-time API, an object named
// `API`, in a window above the page: a parent frame, or the window that opened it. This file
// finds it, opens the session (LMSInitialize), reads where the learner left off, and offers
// Python the one call it needs, `cpScorm.report({element: value, ...})`, which writes what
// changed and commits it (LMSSetValue, LMSCommit). The session ends (LMSFinish) when the page
// goes away. Without an LMS nothing happens and `cpScorm.connected` is false.
//
// An LMS that refuses a call never breaks the page: the learner gets a short note saying what
// the LMS answered (LMSGetLastError / LMSGetErrorString / LMSGetDiagnostic) and that their work
// here is kept. html[data-cp-lms] says how it went: "none" (no LMS), "connected", "failed"
// (LMSInitialize refused), "finished". docs/LMS.md describes what is reported.
"use strict";

(function () {
  // The search for the API: the official SCORM algorithms walk up the chain of parents and
  // then the opener's chain, giving up after a fixed number of levels (500 in SCORM 2004's).
  // Any step can throw when a window of another origin is in the way: that branch ends there.
  const MAX_LEVELS = 500;
  const root = document.documentElement;

  function apiOf(win) {
    try {
      const api = win.API;
      return api && typeof api.LMSInitialize === "function" ? api : null;
    } catch (error) {
      return null; // a window of another origin
    }
  }

  function searchUp(win) {
    for (let level = 0; win && level <= MAX_LEVELS; level++) {
      const api = apiOf(win);
      if (api) return api;
      let parent = null;
      try {
        parent = win.parent;
      } catch (error) {
        return null;
      }
      if (!parent || parent === win) return null;
      win = parent;
    }
    return null;
  }

  function findApi() {
    const found = searchUp(window);
    if (found) return found;
    // A page opened in a new window: the LMS is the opener (or one of its parents). The page
    // may itself sit in a frame of that window, so the top window's opener counts too.
    for (const get of [() => window.opener, () => window.top.opener]) {
      let opener = null;
      try {
        opener = get();
      } catch (error) {
        opener = null;
      }
      const api = opener ? searchUp(opener) : null;
      if (api) return api;
    }
    return null;
  }

  // ------------------------------------------------------------------ the note for the learner
  const shown = new Set();

  function note(text) {
    if (shown.has(text)) return;
    shown.add(text);
    if (!document.body) {
      document.addEventListener("DOMContentLoaded", () => show(text), { once: true });
    } else {
      show(text);
    }
  }

  function show(text) {
    let box = document.getElementById("cp-lms-note");
    if (!box) {
      const style = document.createElement("style");
      style.textContent =
        ".cp-lms-note { position: fixed; left: 0.75rem; bottom: 0.75rem; z-index: 10001;" +
        " max-width: min(30rem, calc(100vw - 1.5rem)); box-sizing: border-box;" +
        " background: #fff8e6; color: #1f2933; border: 1px solid #8a6100;" +
        " border-left: 0.4rem solid #8a6100; border-radius: 6px; padding: 0.6rem 0.8rem;" +
        " font: 0.88rem/1.35 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;" +
        " box-shadow: 0 4px 16px rgba(0, 0, 0, 0.15); }" +
        ".cp-lms-note p { margin: 0 0 0.35rem; }" +
        ".cp-lms-note button { font: inherit; padding: 0.2rem 0.9rem;" +
        " min-height: 44px; min-width: 44px; }";
      document.head.appendChild(style);
      box = document.createElement("div");
      box.id = "cp-lms-note";
      box.className = "cp-lms-note";
      box.setAttribute("role", "status");
      const close = document.createElement("button");
      close.type = "button";
      close.textContent = "Dismiss";
      close.setAttribute("aria-label", "Dismiss the note about the course system");
      close.addEventListener("click", () => {
        box.hidden = true;
      });
      box.appendChild(close);
      document.body.appendChild(box);
    }
    const line = document.createElement("p");
    line.textContent = text;
    box.insertBefore(line, box.lastChild);
    box.hidden = false;
  }

  // ------------------------------------------------------------------ talking to the LMS
  let api = findApi();
  const lms = {
    connected: false,
    // What the LMS held when the session opened (SCORM 1.2 names).
    start: { suspend: "", location: "", status: "", entry: "", mode: "" },
    // Every call the page made, in order: [name, element or "", result] (tests and debugging).
    calls: [],
    problems: [],
    report,
    finish,
  };
  window.cpScorm = lms;
  const written = {}; // element -> the value the LMS accepted last
  let startedAt = 0;

  function call(name, ...args) {
    let result;
    try {
      result = String(api[name](...args));
    } catch (error) {
      result = "false";
      lms.problems.push(`${name} threw ${String((error && error.message) || error)}`);
    }
    lms.calls.push([name, args[0] === undefined ? "" : String(args[0]), result]);
    return result;
  }

  // The LMS's own words for its last error: "Incorrect Data Type (error 405, cmi.core.score.raw)".
  function lastError(what) {
    let code = "";
    let words = "";
    let diagnostic = "";
    try {
      code = String(api.LMSGetLastError());
      words = String(api.LMSGetErrorString(code) || "");
      diagnostic = String(api.LMSGetDiagnostic(code) || "");
    } catch (error) {
      words = words || String((error && error.message) || error);
    }
    const details = [code && code !== "0" ? `error ${code}` : "", what].filter(Boolean).join(", ");
    const said = [words, diagnostic && diagnostic !== words ? diagnostic : ""].filter(Boolean);
    return `${said.join(": ") || "no reason given"}${details ? ` (${details})` : ""}`;
  }

  function refused(action, what) {
    const reason = lastError(what);
    lms.problems.push(`${action}: ${reason}`);
    note(
      `The course system (LMS) did not ${action}: ${reason}. Everything you do here still ` +
        "works, and your progress is kept in this browser."
    );
  }

  // A value the LMS may not have (then ""): reading is never worth a note.
  function quietGet(element) {
    const value = call("LMSGetValue", element);
    try {
      return String(api.LMSGetLastError()) === "0" ? value : "";
    } catch (error) {
      return "";
    }
  }

  function report(values) {
    if (!lms.connected || lms.start.mode === "review") return false; // review: nothing is recorded
    let changed = false;
    for (const [element, value] of Object.entries(values)) {
      const text = String(value);
      if (written[element] === text) continue;
      if (call("LMSSetValue", element, text) === "true") {
        written[element] = text;
        changed = true;
      } else {
        refused("keep your progress", element);
      }
    }
    if (changed && call("LMSCommit", "") !== "true") refused("save your progress", "LMSCommit");
    return changed;
  }

  // CMITimeSpan, HHHH:MM:SS.SS
  function timespan(ms) {
    const cs = Math.round(Math.max(0, ms) / 10); // hundredths of a second
    const two = (n) => String(n).padStart(2, "0");
    const hours = Math.min(9999, Math.floor(cs / 360000));
    const minutes = Math.floor(cs / 6000) % 60;
    const seconds = Math.floor(cs / 100) % 60;
    return `${two(hours)}:${two(minutes)}:${two(seconds)}.${two(cs % 100)}`;
  }

  function finish() {
    if (!lms.connected) return;
    lms.connected = false;
    if (lms.start.mode !== "review") {
      // "suspend": the learner may come back, so the LMS keeps the suspend data for the next
      // launch (on this computer or another).
      call("LMSSetValue", "cmi.core.exit", "suspend");
      call("LMSSetValue", "cmi.core.session_time", timespan(performance.now() - startedAt));
    }
    call("LMSCommit", "");
    call("LMSFinish", "");
    root.dataset.cpLms = "finished";
  }

  if (!api) {
    root.dataset.cpLms = "none";
  } else if (call("LMSInitialize", "") !== "true") {
    root.dataset.cpLms = "failed";
    refused("start a session for this page", "LMSInitialize");
    api = null;
  } else {
    startedAt = performance.now();
    lms.connected = true;
    root.dataset.cpLms = "connected";
    lms.start = {
      suspend: quietGet("cmi.suspend_data"),
      location: quietGet("cmi.core.lesson_location"),
      status: quietGet("cmi.core.lesson_status"),
      entry: quietGet("cmi.core.entry"),
      mode: quietGet("cmi.core.lesson_mode"),
    };
    // The learner has started: the lesson's own status (browsed, completed) follows with
    // their first step, but an activity left now should not read "not attempted".
    if (lms.start.status === "not attempted" || lms.start.status === "") {
      report({ "cmi.core.lesson_status": "incomplete" });
    }
    // Whichever comes first: pagehide is the reliable one; beforeunload covers LMS pop-ups
    // closed by their opener.
    window.addEventListener("pagehide", finish);
    window.addEventListener("beforeunload", finish);
  }
})();
