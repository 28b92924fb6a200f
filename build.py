#!/usr/bin/env python3
"""CNN Playground: one entry point to build, serve and test the static site.

    python3 build.py build     assemble site/ (the self-hosted Pyodide app)
    python3 build.py serve     build if needed, serve site/ on http://127.0.0.1:8000/
    python3 build.py test      install test deps, build if needed, run pytest
    python3 build.py dev       panel serve playground/app.py --autoreload
    python3 build.py clean     remove site/ and build artefacts (--all: download cache too)

Only the standard library is imported at top level: this file must run on a bare
Python >= 3.11. Everything else is installed into the project venv `.venv/`.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import posixpath
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".npz": "application/octet-stream",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler for site/ with correct MIME types and an optional sub-path."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    prefix = "/"
    quiet = True

    def _strip_prefix(self) -> bool:
        """Map a request below `prefix` onto the site root; False if outside the prefix."""
        if self.prefix == "/":
            return True
        path = urllib.parse.urlsplit(self.path).path
        if path == self.prefix.rstrip("/"):
            # /courses/cnn -> /courses/cnn/ so relative URLs resolve below the prefix
            self.send_response(301)
            self.send_header("Location", self.prefix)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False
        if not path.startswith(self.prefix):
            self.send_error(404, "Not under " + self.prefix)
            return False
        rest = self.path[len(self.prefix) - 1 :]
        self.path = rest if rest.startswith("/") else "/" + rest
        return True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self._strip_prefix():
            super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if self._strip_prefix():
            super().do_HEAD()

    def end_headers(self) -> None:
        # Let the browser revalidate; the service worker does the offline caching.
        path = posixpath.basename(urllib.parse.urlsplit(self.path).path)
        if path in ("", "index.html", "sw.js") or path.endswith(".html"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    root: Path, host: str, port: int, prefix: str = "/", quiet: bool = True
) -> http.server.ThreadingHTTPServer:
    """Return a (not yet started) threaded static server for `root`.

    The site appears at http://host:port<prefix> — e.g. prefix "/courses/cnn/" mounts it
    at a sub-path; anything outside the prefix is 404. Port 0 picks a free port (read it
    back from `server.server_address[1]`). Run with `serve_forever()` (in a thread for
    tests) and stop with `shutdown()` then `server_close()`.
    """
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    if not prefix.endswith("/"):
        prefix += "/"
    handler = type(
        "SiteHandler", (_SiteHandler,), {"prefix": prefix, "quiet": quiet}
    )
    handler_factory = functools.partial(handler, directory=str(Path(root)))
    server = http.server.ThreadingHTTPServer((host, port), handler_factory)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve site/")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--prefix", default="/")
    args = parser.parse_args(argv)
    if args.command == "serve":
        server = make_server(ROOT / "site", args.host, args.port, args.prefix, quiet=False)
        print(f"Serving {ROOT / 'site'} at http://{args.host}:{server.server_address[1]}{args.prefix}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")
        finally:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
