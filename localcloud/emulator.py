"""The moto server, bound in the caller's thread.

moto's ThreadedMotoServer binds inside its server thread: when the port is taken, werkzeug prints "Address already
in use" and exits that thread, and `start()` waits forever for a server that never comes. Here the port is reserved
(bound and listening) first, in the calling thread, so a taken port is an exception naming it before anything else
starts, and nothing else (the database's own free port, say) can take it before the server runs.
"""

from __future__ import annotations

import errno
import os
import socket
import threading

from werkzeug.serving import BaseWSGIServer, make_server


class PortUnavailable(OSError):
    def __init__(self, port: int, reason: str):
        super().__init__(f"port {port} on 127.0.0.1 is not available ({reason}): stop what listens there "
                         "(e.g. a LocalStack) or choose another port with --port")
        self.port = port


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does: TIME_WAIT is no conflict
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        reason = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror or str(error)
        raise PortUnavailable(port, reason) from None
    return sock


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on the port (PortUnavailable when it is taken), for a server to serve on later."""
    return _bound_socket(host, port)


class MotoServer:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, sock: socket.socket | None = None) -> None:
        """Serve on `sock` (a reserved port, closed here once the server holds it) or bind the port now."""
        from moto.moto_server.werkzeug_app import (DomainDispatcherApplication, MotoRequestHandler,
                                                   create_backend_app)

        sock = sock or _bound_socket(self.host, self.port)
        try:
            self._server = make_server(self.host, self.port, DomainDispatcherApplication(create_backend_app),
                                       threaded=True, request_handler=MotoRequestHandler, fd=sock.fileno())
        finally:
            sock.close()  # the server holds its own duplicate of the listening socket
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None and self._thread.is_alive():  # shutdown() waits for serve_forever
                self._server.shutdown()
                self._thread.join()
            self._server.server_close()
            self._server, self._thread = None, None


class Emulator:
    """The moto server with the process settings it needs, undone (environment, emulated state) by `stop()`."""

    def __init__(self, host: str, port: int, environment: dict[str, str]):
        self.server = MotoServer(host, port)
        self.environment = environment
        self.saved: dict[str, str | None] | None = None

    def start(self, sock: socket.socket | None = None) -> None:
        import logging

        from moto.core.config import default_user_config

        # moto's Step Functions interpreter builds its clients from the process environment.
        self.saved = {key: os.environ.get(key) for key in self.environment}
        os.environ.update(self.environment)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the terminal
        self.server.start(sock)

    def stop(self) -> None:
        """Safe whatever `start()` got to, and again."""
        self.server.stop()
        if self.saved is not None:
            from moto.core.base_backend import BackendDict
            BackendDict.reset()  # forget every emulated resource, so a later cloud in this process starts empty
            for key, value in self.saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self.saved = None
