"""The two static servers, over real HTTP on 127.0.0.1: the build's (`make_server`, used by
`python3 build.py serve` and the tests) and the shipped `serve.py` (run as a classroom
would: `python3 serve.py` inside a copy of the site)."""

import gzip
import http.client
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sitebuild.config import SITE_SRC
from sitebuild.server import make_server

FILES = {
    "index.html": b"<!doctype html><title>playground</title>",
    "app.js": b"console.log('worker');\n" * 200,
    "sw.js": b"self.addEventListener('fetch', () => {});\n",
    "pyodide/pyodide.asm.wasm": b"\0asm" + bytes(4000),
    "pyodide/site-packages.tar.gz": gzip.compress(b"tar", mtime=0),
    "data/mnist.npz": b"PK\x03\x04npz",
    "loader.css": b"body { margin: 0 }",
    "build-info.json": b"{}",
    "static/panel/dist/panel.min.js": b"/* panel */",
}
SECRET = b"outside the site"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A small site (with a gzip twin, as the build writes them) and a file next to it."""
    base = tmp_path_factory.mktemp("served")
    root = base / "site"
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "app.js.gz").write_bytes(gzip.compress(FILES["app.js"], mtime=0))
    (base / "secret.txt").write_bytes(SECRET)
    return root


class Build:
    """make_server in a thread."""

    def __init__(self, root: Path, prefix: str = "/") -> None:
        self.server = make_server(root, "127.0.0.1", 0, prefix)
        self.port = self.server.server_address[1]
        self.prefix = prefix
        poll = {"poll_interval": 0.05}  # a quick shutdown()
        threading.Thread(target=self.server.serve_forever, kwargs=poll, daemon=True).start()

    def stop(self) -> str:
        self.server.shutdown()
        self.server.server_close()
        return ""


class Shipped:
    """`python3 serve.py --port 0` inside a copy of the site, as a subprocess."""

    prefix = "/"

    def __init__(self, root: Path, folder: Path) -> None:
        shutil.copytree(root, folder)
        shutil.copy(SITE_SRC / "serve.py", folder / "serve.py")
        self.proc = subprocess.Popen(
            [sys.executable, "serve.py", "--port", "0"],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()  # "CNN Playground at http://127.0.0.1:PORT/ ..."
        self.port = int(line.split("127.0.0.1:")[1].split("/")[0])

    def stop(self) -> str:
        """Stop it; return what it wrote to stderr (its request log, tracebacks if any)."""
        self.proc.terminate()
        return self.proc.communicate(timeout=10)[1]


@pytest.fixture(params=["build", "build-subpath", "serve.py"])
def server(request, site, tmp_path, capfd):
    if request.param == "serve.py":
        server = Shipped(site, tmp_path / "copy")
    else:
        server = Build(site, "/courses/cnn/" if request.param == "build-subpath" else "/")
    yield server
    stderr = server.stop() + capfd.readouterr().err  # the build's server runs in this process
    assert "Traceback" not in stderr


def get(server, path: str, headers: dict | None = None, prefix: str | None = None):
    """One GET of `path` below the server's prefix (or `prefix`), sent exactly as written."""
    prefix = server.prefix if prefix is None else prefix
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("GET", prefix.rstrip("/") + path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path, mime",
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript"),
        ("/pyodide/pyodide.asm.wasm", "application/wasm"),
        ("/data/mnist.npz", "application/octet-stream"),
        ("/loader.css", "text/css"),
        ("/build-info.json", "application/json"),
    ],
)
def test_files_are_served_with_their_type_and_nosniff(server, path, mime):
    status, headers, body = get(server, path)
    assert status == 200
    assert headers["content-type"] == mime
    assert headers["x-content-type-options"] == "nosniff"
    assert body == FILES["index.html" if path == "/" else path[1:]]


@pytest.mark.parametrize("path", ["/%00", "/app.js%00.html", "/%ED%A0%80", "/pyodide/%00/x"])
def test_a_path_no_file_can_have_gets_a_clean_400_and_the_server_keeps_serving(server, path):
    status, headers, body = get(server, path)
    assert status == 400
    assert b"Malformed path" in body
    assert headers["x-content-type-options"] == "nosniff"
    assert get(server, "/app.js")[0] == 200


@pytest.mark.parametrize("path", ["/static/", "/pyodide/", "/static/panel/dist/"])
def test_directories_are_not_listed(server, path):
    status, headers, body = get(server, path)
    assert status == 404
    assert b"panel.min.js" not in body and b"pyodide.asm.wasm" not in body
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/static/../../secret.txt"],
)
def test_path_traversal_is_refused(server, path):
    status, _, body = get(server, path)
    assert status == 404
    assert SECRET not in body


def test_the_build_server_mounts_the_site_below_its_prefix_only(site):
    server = Build(site, "/courses/cnn/")
    try:
        assert get(server, "/app.js")[0] == 200  # /courses/cnn/app.js
        assert get(server, "/app.js", prefix="/")[0] == 404
        status, headers, _ = get(server, "/courses/cnn", prefix="/")
        assert (status, headers["location"]) == (301, "/courses/cnn/")
        # A directory's redirect stays below the prefix, and "//" never names another host.
        assert get(server, "/static")[1]["location"] == "/courses/cnn/static/"
        assert not get(server, "//static")[1]["location"].startswith("//")
        assert [p for p, _ in server.server.responses][:1] == ["/app.js"]
    finally:
        server.stop()


def test_the_build_server_sends_the_gzip_twin_and_answers_304(site):
    server = Build(site)
    try:
        status, headers, body = get(server, "/app.js", {"Accept-Encoding": "gzip, br"})
        assert (status, headers["content-encoding"]) == (200, "gzip")
        assert headers["content-type"] == "text/javascript"
        assert gzip.decompress(body) == FILES["app.js"]
        assert "content-encoding" not in get(server, "/app.js")[1]  # no gzip asked for

        later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
        for encoding in ("gzip", "identity"):
            status, headers, body = get(
                server, "/app.js", {"Accept-Encoding": encoding, "If-Modified-Since": later}
            )
            assert (status, body) == (304, b"")
            assert headers["x-content-type-options"] == "nosniff"
        earlier = "Thu, 01 Jan 1998 00:00:00 GMT"
        assert get(server, "/app.js", {"If-Modified-Since": earlier})[0] == 200
    finally:
        server.stop()


@pytest.mark.parametrize(
    "path, cache",
    [
        ("/", "no-cache"),
        ("/sw.js", "no-cache"),
        ("/build-info.json", "no-cache"),
        ("/app.js", "max-age=300"),
    ],
)
def test_the_build_server_has_pages_and_the_service_worker_revalidated(site, path, cache):
    server = Build(site)
    try:
        assert get(server, path)[1]["cache-control"] == cache
    finally:
        server.stop()


def test_a_malformed_request_line_is_answered_not_dropped(site, capfd):
    server = Build(site)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(b"GET /app.js x HTTP/1.1\r\n\r\n")
            reply = conn.recv(4096)
        assert reply.startswith(b"HTTP/1.0 400")
        assert server.server.responses == [("", 400)]
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err
