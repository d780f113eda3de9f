"""The model server process: `python -m cml_mlops.serving.server --project-dir DIR --version N --listen-fd FD`.

Started by `cml-mlops deploy` (see serving/process.py), never by hand. Its life:
1. load the model version and compile the contract, then serve on the private listener it inherits
   (`--listen-fd`, a loopback socket on a free port) so the deployer can health-check and smoke-test it;
2. on `POST /-/live` (private listener, admin token from the environment) take the public host:port: receive
   the running server's listening socket over its handoff Unix socket (both then accept from the same queue,
   so no connection is refused or reset during a switch), or bind it when nothing serves yet;
3. on SIGTERM, stop accepting, answer what is in flight with `Connection: close` (clients reconnect to the
   successor), wait up to the drain time for connections to finish, write the captured predictions still
   queued (spilling them when the store stays away past CAPTURE_CLOSE_SECONDS), then exit.
Every prediction served is captured into the prediction log (see capture.py) unless `capture.enabled` is false.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import uvicorn

from cml_mlops.config import load_config
from cml_mlops.serving.app import ADMIN_TOKEN_ENV, AppSettings, ServingApp
from cml_mlops.serving.capture import Capture
from cml_mlops.serving.scoring import load_scorer

log = logging.getLogger("cml_mlops.serving")

HANDOFF_MESSAGE = b"L"
DEFAULT_DRAIN_SECONDS = 2.0
CAPTURE_CLOSE_SECONDS = 15.0  # the deployer kills a server that takes 30 s to stop
BACKLOG = 2048


class ModelServer(uvicorn.Server):
    """uvicorn's server plus taking over a public listener at run time and a draining shutdown."""

    def __init__(self, config: uvicorn.Config, app: ServingApp, *, drain_seconds: float) -> None:
        super().__init__(config)
        self.app = app
        self.drain_seconds = drain_seconds
        self.public: socket.socket | None = None
        self.handoff_dir: str | None = None
        self._handoff_socket: socket.socket | None = None
        self._handoff_task: asyncio.Task[None] | None = None

    async def go_live(self, host: str, port: int, takeover: str | None) -> dict[str, Any]:
        """Start accepting on the public host:port (taken over from `takeover`'s server, else bound)."""
        if self.public is not None:
            return self._public_info(took_over=False)
        sock, took_over = None, False
        if takeover:
            try:
                sock = await asyncio.to_thread(receive_listener, takeover)
                took_over = True
            except OSError as exc:  # the old server is gone or stuck: bind ourselves (fails if the port is held)
                log.warning("could not take over the listener from %s (%s): binding %s:%d", takeover, exc, host, port)
        if sock is not None and sock.getsockname()[1] != port:
            held = sock.getsockname()[1]
            sock.close()
            raise OSError(f"the running server listens on port {held}, not {port}")
        if sock is None:
            sock = tcp_listener(host, port)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._protocol, sock=sock, backlog=BACKLOG)
        self.servers.append(server)
        self.public = sock
        await self._open_handoff()
        log.info("serving %s on http://%s:%d (took over: %s)", self.app.scorer.version, host, port, took_over)
        return self._public_info(took_over=took_over)

    def _public_info(self, *, took_over: bool) -> dict[str, Any]:
        assert self.public is not None
        host, port = self.public.getsockname()[:2]
        handoff = None if self.handoff_dir is None else str(Path(self.handoff_dir) / "handoff.sock")
        return {"host": host, "port": port, "took_over": took_over, "handoff": handoff}

    def _protocol(self) -> Any:
        # What uvicorn's own startup() builds for each connection, for the listener added at run time.
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def _open_handoff(self) -> None:
        """Hand our public listener to whoever connects: a private (0700) folder keeps that to this user."""
        self.handoff_dir = tempfile.mkdtemp(prefix="cml-mlops-")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(Path(self.handoff_dir) / "handoff.sock"))
        listener.listen(4)
        listener.setblocking(False)
        self._handoff_socket = listener
        self._handoff_task = asyncio.create_task(self._serve_handoff(listener))

    async def _serve_handoff(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            connection, _ = await loop.sock_accept(listener)
            with connection:
                assert self.public is not None
                socket.send_fds(connection, [HANDOFF_MESSAGE], [self.public.fileno()])
            log.info("handed the public listener to a successor")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first. A successor holds the same listening socket: what is queued is its now.
        if self._handoff_task is not None:
            self._handoff_task.cancel()
        if self._handoff_socket is not None:
            self._handoff_socket.close()
        if self.handoff_dir is not None:
            shutil.rmtree(self.handoff_dir, ignore_errors=True)
        for server in self.servers:
            server.close()
        self.app.draining = True
        deadline = time.monotonic() + self.drain_seconds
        while self.server_state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await super().shutdown(sockets)


def tcp_listener(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A listening TCP socket (SO_REUSEADDR) created with its protocol number.

    asyncio turns Nagle's algorithm off only on connections whose socket says IPPROTO_TCP; `socket.create_server`
    leaves the protocol 0, and every response then waits ~40 ms for the client's delayed ACK.
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    family, kind, proto, _, address = found[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def receive_listener(path: str, timeout: float = 5.0) -> socket.socket:
    """The listening socket the server at handoff `path` sends us (SCM_RIGHTS over its Unix socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(path)
        message, fds, _, _ = socket.recv_fds(connection, 16, 1)
    if message != HANDOFF_MESSAGE or not fds:
        for fd in fds:
            os.close(fd)
        raise OSError(f"no listener received from {path}")
    return socket.socket(fileno=fds[0])


def build_app(project_dir: Path, profile: str | None, version: str, admin_token: str | None) -> ServingApp:
    """Load the version and compile its contract: everything slow happens here, once."""
    config = load_config(project_dir, profile)
    scorer = load_scorer(config, version=version)
    key = config.serving.access_key
    settings = AppSettings(
        model_name=scorer.model.name,
        access_key=key.get_secret_value() if key is not None else None,
        require_access_key=config.serving.require_access_key,
        max_body_bytes=config.serving.max_body_bytes,
        max_batch_rows=config.serving.max_batch_rows,
    )
    capture = Capture.open(config, model_name=scorer.model.name, positive_label=scorer.model.positive_label)
    return ServingApp(scorer, settings, admin_token=admin_token, capture=capture)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cml_mlops.serving.server", description=__doc__.split("\n")[0])
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--version", required=True)
    parser.add_argument("--listen-fd", type=int, required=True, help="inherited listening socket (private port)")
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    admin_token = os.environ.pop(ADMIN_TOKEN_ENV, None)
    private = socket.socket(fileno=args.listen_fd)
    try:
        app = build_app(args.project_dir, args.profile, args.version, admin_token)
    except Exception:
        log.exception("could not load model version %s", args.version)
        private.close()
        return 1
    app.private_port = private.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, proxy_headers=False, log_level="info", timeout_graceful_shutdown=30
    )
    server = ModelServer(config, app, drain_seconds=args.drain_seconds)
    app.go_live = server.go_live
    log.info(
        "model %s version %s ready on the private port %d", app.settings.model_name, args.version, app.private_port
    )
    try:
        server.run(sockets=[private])
    finally:
        if app.capture is not None:
            summary = app.capture.close(timeout=min(CAPTURE_CLOSE_SECONDS, app.capture.log.close_timeout_seconds))
            log.info(
                "capture closed: %d predictions written, %d spilled%s", summary.predictions_written,
                summary.predictions_spilled, f" to {summary.spill_file}" if summary.spill_file else "",
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
