#!/usr/bin/env python3
"""Serve this folder (a copy of the CNN Playground site) on http://127.0.0.1:8000/.

The playground runs Python in the browser, which browsers only allow for pages served
over HTTP, not opened as files. Copy the folder anywhere (a USB stick, a classroom
laptop), then in a terminal inside it run:

    python3 serve.py               # http://127.0.0.1:8000/
    python3 serve.py --port 8080 --host 0.0.0.0    # reachable from other machines

No network and nothing but Python 3 is needed. After one visit the browser also keeps
the playground for offline use (service worker). Ctrl-C stops the server.
"""

# One self-contained file (it is copied into the site); `python3 build.py serve` and the
# tests use a server built on this Handler (sitebuild/server.py).

import argparse
import functools
import http.server
from http import HTTPStatus
from pathlib import Path
from typing import ClassVar

TYPES = {
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


def path_of(target: str) -> str:
    """The path of a request target, without query or fragment (never raises)."""
    return target.split("?", 1)[0].split("#", 1)[0]


class Handler(http.server.SimpleHTTPRequestHandler):
    """The folder's files with their types. No directory listings; a path no file can have
    (a NUL byte, an unencodable character) gets 400, not a dropped connection; browsers
    are told not to guess a type other than the one sent."""

    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **TYPES,
    }

    def send_head(self):
        try:
            return super().send_head()
        except ValueError:  # raised before any byte of the response was sent
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed path")
            return None

    def list_directory(self, path):
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the CNN Playground folder.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    handler = functools.partial(Handler, directory=str(Path(__file__).resolve().parent))
    with http.server.ThreadingHTTPServer((args.host, args.port), handler) as server:
        print(f"CNN Playground at http://{args.host}:{server.server_address[1]}/  (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nStopped.")


if __name__ == "__main__":
    main()
