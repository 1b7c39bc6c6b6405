"""The HTTP server of ``mcscale explore``: the page, its static files and the JSON API, on loopback.

Built on the standard library's :mod:`http.server` (``ThreadingHTTPServer``): the page
is a single-user tool on the user's own machine, with two API routes and a handful of
fixed files, so a framework and an ASGI server would add two dependencies and nothing
the page needs. What a public server would get from a framework is done here by hand:

- it binds to 127.0.0.1 unless told another address (``allow_remote``), and then warns;
- it answers only requests whose ``Host`` is the address it serves (a web page elsewhere
  cannot reach it through DNS rebinding), and ``POST`` only with ``Content-Type:
  application/json`` (a cross-site form cannot send that without the browser asking
  first, and the server answers no such question);
- bodies over :data:`MAX_BODY_BYTES` are refused (413) before they are read; draw counts
  over the limit are refused by :class:`~mcscale.report.explore.Explorer`;
- the files it serves are a fixed list read from the package, never a path from the URL;
- an unexpected error answers 500 with one line, and the traceback goes to the server's
  stderr, not to the page.

One change is sampled at a time (:class:`~mcscale.report.explore.Explorer` holds a lock);
the page sends one request at a time and keeps only the newest change while one runs.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import sys
import threading
import traceback
import warnings
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mcscale.model.scenario import Scenario
from mcscale.report.explore import DEFAULT_MAX_DRAWS, Explorer, handle_api
from mcscale.scenario_file import resolve_scenario

__all__ = ["DEFAULT_PORT", "MAX_BODY_BYTES", "STATIC_FILES", "ExploreServer", "is_loopback", "serve"]

#: Port ``mcscale explore`` serves on unless told otherwise (0 picks a free one).
DEFAULT_PORT = 8765
#: Largest request body accepted [bytes].
MAX_BODY_BYTES = 64 * 1024
#: The files the server serves, by URL path -> (file in ``mcscale/report/static``, content type).
STATIC_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
    "/static/explore.css": ("explore.css", "text/css; charset=utf-8"),
    "/static/uPlot.iife.min.js": ("uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "/static/uPlot.min.css": ("uPlot.min.css", "text/css; charset=utf-8"),
    "/static/uPlot.LICENSE.txt": ("uPlot.LICENSE.txt", "text/plain; charset=utf-8"),
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _static_files() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("mcscale.report") / "static"
    return {url: ((folder / name).read_bytes(), kind) for url, (name, kind) in STATIC_FILES.items()}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes a request to a static file or to :func:`~mcscale.report.explore.handle_api`."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "mcscale-explore"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, D102
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", _CSP)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json", extra)

    def _host_ok(self) -> bool:
        if self.server.allow_remote:
            return True
        host = self.headers.get("Host", "")
        if host in self.server.allowed_hosts:
            return True
        self._json(421, {"error": f"this server answers requests for {self.server.url} only, not Host {host!r}"})
        return False

    def _dispatch(self, method: str) -> None:
        try:
            if not self._host_ok():
                return
            path = urlsplit(self.path).path
            if method in ("GET", "HEAD") and path in self.server.files:
                body, kind = self.server.files[path]
                self._send(200, body, kind)
                return
            if not path.startswith("/api/"):
                self._json(404, {"error": f"no such page: {path}"})
                return
            body = b""
            if method == "POST":
                body = self._read_body()
                if body is None:
                    return
            status, payload = handle_api(self.server.explorer, "GET" if method == "HEAD" else method, path, body)
            self._json(status, payload, {"Allow": "GET, POST"} if status == 405 else None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug: one line to the page, the traceback to the server's log
            traceback.print_exc(file=sys.stderr)
            self._json(500, {"error": "internal error in the mcscale explore server; its log has the details"})

    def _read_body(self) -> bytes | None:
        """Return the request body, or answer 411/413/415 and return None."""
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            self._json(415, {"error": "send the state as JSON (Content-Type: application/json)"})
            self.close_connection = True
            return None
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._json(411, {"error": "the request needs a Content-Length"})
            self.close_connection = True
            return None
        if int(length) > self.server.max_body:
            self._json(
                413, {"error": f"the request is too large: {int(length):,} bytes; at most {self.server.max_body:,}"}
            )
            self.close_connection = True  # the body is left unread
            return None
        return self.rfile.read(int(length))

    def do_GET(self) -> None:  # noqa: D102, N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: D102, N802
        self._dispatch("HEAD")

    def do_POST(self) -> None:  # noqa: D102, N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: D102, N802
        self._json(405, {"error": "PUT is not allowed"}, {"Allow": "GET, POST"})

    do_DELETE = do_PATCH = do_PUT


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    explorer: Explorer
    files: dict[str, tuple[bytes, str]]
    allowed_hosts: set[str]
    allow_remote: bool
    max_body: int
    verbose: bool
    url: str


class ExploreServer:
    """``mcscale explore``'s server for one scenario: start it, read :attr:`url`, stop it.

    Parameters
    ----------
    explorer : Explorer
        The page's scenario and limits.
    host : str, optional
        Address to bind; a loopback address unless ``allow_remote``.
    port : int, optional
        0 picks a free port (see :attr:`port`).
    allow_remote : bool, optional
        Bind a non-loopback ``host`` (with a :class:`UserWarning`: the server has no
        authentication, and anyone who reaches the address can use it).
    max_body : int, optional
        Largest request body [bytes].
    verbose : bool, optional
        Log every request on stderr.

    Raises
    ------
    ValueError
        For a non-loopback ``host`` without ``allow_remote``.
    OSError
        If the address cannot be bound (a port in use).
    """

    def __init__(
        self,
        explorer: Explorer,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        allow_remote: bool = False,
        max_body: int = MAX_BODY_BYTES,
        verbose: bool = False,
    ) -> None:
        if not is_loopback(host):
            if not allow_remote:
                raise ValueError(
                    f"refusing to serve on {host}: it is not a loopback address, so other machines could reach "
                    "the page (it has no authentication); give the host explicitly (--host) to do it anyway"
                )
            warnings.warn(
                f"serving on {host}: anyone who can reach this address can use the page and its CPU "
                "(there is no authentication)",
                UserWarning,
                stacklevel=2,
            )
        self.explorer = explorer
        self._httpd = _Server((host, port), _Handler)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        httpd = self._httpd
        httpd.explorer = explorer
        httpd.files = _static_files()
        names = {shown, "localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else {shown}
        httpd.allowed_hosts = {f"{name}:{self.port}" for name in names}
        httpd.allow_remote = allow_remote and not is_loopback(host)
        httpd.max_body = max_body
        httpd.verbose = verbose
        httpd.url = self.url
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` (or Ctrl-C)."""
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._httpd.server_close()

    def start(self) -> ExploreServer:
        """Serve in a background thread (for notebooks and tests); return self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ExploreServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ExploreServer({self.explorer.scenario.name!r}, {self.url!r})"


def serve(
    scenario: Scenario | str | Path,
    port: int = DEFAULT_PORT,
    *,
    host: str = "127.0.0.1",
    allow_remote: bool = False,
    open_browser: bool = False,
    block: bool = False,
    max_draws: int = DEFAULT_MAX_DRAWS,
    threads: int | None = None,
    warm: bool = True,
) -> ExploreServer:
    """Serve the explore page of a scenario (for notebooks: it returns, serving in the background).

    Parameters
    ----------
    scenario : Scenario, path-like or str
        A scenario, a scenario file or a bundled name (``"baseline"``).
    port : int, optional
        0 picks a free port.
    host : str, optional
        Address to bind: loopback unless ``allow_remote`` (see :class:`ExploreServer`).
    allow_remote : bool, optional
        Allow a non-loopback ``host``, with a warning.
    open_browser : bool, optional
        Open the page in the default browser.
    block : bool, optional
        Serve in this thread until interrupted, instead of in the background.
    max_draws : int, optional
        Most draws one change may ask for.
    threads : int, optional
        Worker threads of the engine.
    warm : bool, optional
        Load the engine's kernels before serving, so that the first change is fast.

    Returns
    -------
    ExploreServer
        Serving (``.url``; ``.stop()`` ends it).

    Examples
    --------
    >>> server = mcscale.explore.serve("baseline", port=0)  # doctest: +SKIP
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:40123/'
    >>> server.stop()  # doctest: +SKIP
    """
    explorer = Explorer(resolve_scenario(scenario), max_draws=max_draws, threads=threads)
    if warm:
        explorer.warm()
    server = ExploreServer(explorer, host, port, allow_remote=allow_remote)
    if open_browser:
        webbrowser.open(server.url)
    if block:
        server.serve_forever()
        return server
    return server.start()
