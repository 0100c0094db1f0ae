"""The local BSG sandbox server: BSG's paths, rules and answers, on a Werkzeug threaded server.

from sandbox.server import SandboxConfig, SandboxServer, Faults
server = SandboxServer(SandboxConfig(api_key="test_key"), host="127.0.0.1", port=0)
server.start()          # serves in a daemon thread; server.url is "http://127.0.0.1:PORT"
server.state.campaigns  # what GET /_sandbox/campaigns answers
server.set_faults(Faults(error_5xx=0.2))
server.shutdown()
"""

import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import SandboxApp
from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.state import SandboxState
from sandbox.tokens import TokenIssuer

__all__ = ["Faults", "SandboxConfig", "SandboxServer", "SandboxState"]


class _QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request (the app prints its own with ``verbose``); errors still
    reach stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    def __init__(self, config: SandboxConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.state = SandboxState(config)
        self._closing = threading.Event()
        self._tokens = TokenIssuer(self.state.clock, config.token_ttl)
        self.app = SandboxApp(self.state, self._tokens, self._closing)
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Serves in a daemon thread (tests, scripts); returns at once."""
        if self._thread is not None:
            raise RuntimeError("The sandbox is already serving.")
        # A short poll interval: shutdown() waits for the loop to notice, and tests start and
        # stop a sandbox per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"bsg-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.state.callbacks.start(self._closing)

    def serve_forever(self) -> None:
        """Serves in the foreground until interrupted (Ctrl-C) or shut down from another thread."""
        self.state.callbacks.start(self._closing)
        try:
            self._server.serve_forever()
        finally:
            self._closing.set()

    def shutdown(self) -> None:
        """Stops serving, releases connections held by a "hang" fault and closes the socket."""
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def set_faults(self, faults: Faults) -> None:
        """Changes the faults while running (as PUT /_sandbox/faults does)."""
        self.state.set_faults(faults)

    def reset(self) -> None:
        """A fresh account (as POST /_sandbox/reset does)."""
        self.state.reset()

    def __enter__(self) -> "SandboxServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
