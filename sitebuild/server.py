"""The static server of `python3 build.py serve` and of the end-to-end tests (`make_server`)."""

from __future__ import annotations

import email.utils
import functools
import http.server
import importlib.util
import os
import posixpath
import sys
from pathlib import Path

from sitebuild.config import SITE_SRC


def _shipped_server():
    """site-src/serve.py, the server copied into site/ for offline classrooms. It must stay
    one self-contained file there, so this module builds on it rather than repeating it."""
    spec = importlib.util.spec_from_file_location("cnn_playground_serve", SITE_SRC / "serve.py")
    module = importlib.util.module_from_spec(spec)
    # No bytecode cache: a __pycache__ folder in site-src/ would be copied into the site.
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return module


serve = _shipped_server()


class _SiteHandler(serve.Handler):
    """serve.py's handler (types, no listings, clean errors, nosniff), plus an optional
    sub-path, the gzip twins and caching headers; it records every response."""

    prefix = "/"
    quiet = True
    path = ""  # the request target; a malformed request line never sets it

    def _in_prefix(self) -> bool:
        """True for a request below `prefix`; otherwise answer it (a redirect or 404)."""
        path = serve.path_of(self.path)
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
        return True

    def below_prefix(self, path: str) -> str:
        """A URL path below `prefix` as a path from the site root ("/x" for prefix + "x")."""
        return "/" + path[len(self.prefix) :] if path.startswith(self.prefix) else path

    def translate_path(self, path: str) -> str:
        return super().translate_path(self.below_prefix(path))

    def do_GET(self) -> None:
        if self._in_prefix():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._in_prefix():
            super().do_HEAD()

    def send_head(self):
        # Serve the precompressed twin (<file>.gz, written by the build) when the browser
        # accepts gzip: the WebAssembly runtime shrinks from 10 MB to 3 MB on the wire.
        path = self.translate_path(self.path)
        if (
            "gzip" in self.headers.get("Accept-Encoding", "")
            and os.path.isfile(path)
            and os.path.isfile(path + ".gz")
        ):
            if self._not_modified(os.stat(path + ".gz").st_mtime):
                return None
            f = open(path + ".gz", "rb")  # noqa: SIM115 (closed by the base class)
            try:
                stat = os.fstat(f.fileno())
                self.send_response(200)
                self.send_header("Content-Type", self.guess_type(path))
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
                self.send_header("Content-Length", str(stat.st_size))
                self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
                self.end_headers()
                return f
            except Exception:
                f.close()
                raise
        return super().send_head()

    def _not_modified(self, mtime: float) -> bool:
        """Answer 304 if the browser's copy is current (what the base class does for plain
        files): the service worker's precache then revalidates instead of downloading again."""
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if int(mtime) > when:
            return False
        self.send_response(304)
        self.end_headers()
        return True

    def end_headers(self) -> None:
        # Pages and the service worker are always revalidated so a rebuilt site shows up;
        # everything else may be cached briefly by the browser (the service worker does the
        # offline caching).
        name = posixpath.basename(serve.path_of(self.path))
        if name in ("", "sw.js", "build-info.json") or name.endswith(".html"):
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Cache-Control", "max-age=300")
        super().end_headers()

    def log_request(self, code="-", size="-") -> None:
        self.server.responses.append((self.below_prefix(serve.path_of(self.path)), int(code)))
        super().log_request(code, size)

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


class _SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the page fetches ~30 files at once; the default backlog is 5

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.responses: list[tuple[str, int]] = []  # (path below the prefix, status), in order

    def handle_error(self, request, client_address) -> None:
        # A browser that navigates away mid-download resets the connection: not an error.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


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
    handler = type("SiteHandler", (_SiteHandler,), {"prefix": prefix, "quiet": quiet})
    handler_factory = functools.partial(handler, directory=str(Path(root)))
    return _SiteServer((host, port), handler_factory)
