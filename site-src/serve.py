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

import argparse
import functools
import http.server
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
    ".css": "text/css",
    ".html": "text/html",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **TYPES,
    }


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
