"""A TCP proxy in front of the test MariaDB that injects the faults Aurora's lifecycle causes, for real, on the wire:

- hold_syn(s): the kernel drops SYNs, as a resuming instance's endpoint does (the accept queue is kept full), so
  clients see their TCP connect time out; after s seconds connections complete again.
- hold_greeting(s): TCP connects at once, but the server's greeting arrives only after s seconds.
- blackhole(): nothing more is relayed either way on the open connections, as from a writer fenced off by a
  failover (no FIN, no RST); new connections, like clients that resolved the endpoint again, are relayed.
- reset(): every open connection is reset (RST), as a server restart or an idle close does.
- drop_next_command(): the next command a client sends is swallowed and the connection closed (mid statement).
- inject_error(code, sqlstate, message, close=...): the next command is answered with that server error packet
  instead of reaching the server (for the codes MariaDB itself never sends: MySQL 8's idle-close farewell 4031,
  Aurora's 1836, a shutdown's 1053).

The protocol is parsed only on the client side, to find command packets; connections must not use TLS."""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

_COM_QUIT = 0x01


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)  # Linux then queues a single connection: one filler holds every later SYN
        self.host, self.port = self._listener.getsockname()
        self._lock = threading.Lock()
        self._hold_syn_until = 0.0
        self._hold_greeting_until = 0.0
        self._on_next_command: tuple | None = None
        self._fenced: set[socket.socket] = set()  # client sockets whose traffic is dropped
        self._links: list[tuple[socket.socket, socket.socket | None]] = []
        self._fillers: list[socket.socket] = []
        self._filler_addresses: set = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- faults ---------------------------------------------------------------------------------------------

    def hold_syn(self, seconds: float) -> None:
        with self._lock:
            self._hold_syn_until = time.monotonic() + seconds
            while True:  # connections never accepted while the hold lasts, until one cannot complete
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                filler.connect_ex((self.host, self.port))
                self._fillers.append(filler)
                _, connected, _ = select.select([], [filler], [], 0.2)
                if not connected:
                    break

    def hold_greeting(self, seconds: float) -> None:
        self._hold_greeting_until = time.monotonic() + seconds

    def blackhole(self) -> None:
        with self._lock:
            self._fenced = {client for client, _ in self._links}

    def reset(self) -> None:
        with self._lock:
            links, self._links = self._links, []
        for client, server in links:
            _reset(client)
            if server is not None:
                server.close()

    def drop_next_command(self) -> None:
        self._on_next_command = ("drop",)

    def inject_error(self, code: int, sqlstate: str, message: str, *, close: bool = False) -> None:
        self._on_next_command = ("error", code, sqlstate, message, close)

    def heal(self) -> None:
        self._hold_syn_until = self._hold_greeting_until = 0.0
        self._on_next_command = None
        self._fenced = set()

    def stop(self) -> None:
        self._stopped.set()
        self.heal()
        self.reset()
        self._thread.join(timeout=5)
        self._listener.close()

    # -- relay ----------------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            with self._lock:  # hold_syn starts between two accepts, never during one
                client = self._accept_one()
            if client is not None:
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()
            else:
                time.sleep(0.01)

    def _accept_one(self) -> socket.socket | None:
        if time.monotonic() < self._hold_syn_until:
            return None
        for filler in self._fillers:
            try:
                self._filler_addresses.add(filler.getsockname())
            except OSError:
                pass
            filler.close()
        self._fillers = []
        ready, _, _ = select.select([self._listener], [], [], 0.05)
        if not ready:
            return None
        client, address = self._listener.accept()
        if address in self._filler_addresses:  # a filler of an ended hold
            client.close()
            return None
        return client

    def _serve(self, client: socket.socket) -> None:
        while time.monotonic() < self._hold_greeting_until and not self._stopped.is_set():
            time.sleep(0.02)
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        server.settimeout(None)
        with self._lock:
            self._links.append((client, server))
        threading.Thread(target=self._pump, args=(server, client, client), daemon=True).start()
        self._pump_commands(client, server)

    def _pump(self, source: socket.socket, target: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if client not in self._fenced:
                    target.sendall(data)
        except OSError:
            pass
        finally:
            _close_quietly(target)

    def _pump_commands(self, client: socket.socket, server: socket.socket) -> None:
        """Client to server, packet by packet: a command packet (sequence 0) may be intercepted."""
        buffer = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                buffer += data
                while len(buffer) >= 4:
                    length = int.from_bytes(buffer[:3], "little")
                    if len(buffer) < 4 + length:
                        break
                    packet, buffer = buffer[:4 + length], buffer[4 + length:]
                    if client in self._fenced:
                        continue
                    action = self._on_next_command
                    if action is not None and packet[3] == 0 and length and packet[4] != _COM_QUIT:
                        self._on_next_command = None
                        if action[0] == "drop":
                            _reset(client)
                            return
                        _, code, sqlstate, message, close = action
                        client.sendall(_error_packet(code, sqlstate, message))
                        if close:
                            client.close()
                            return
                        continue
                    server.sendall(packet)
        except OSError:
            pass
        finally:
            _close_quietly(server)


def _error_packet(code: int, sqlstate: str, message: str) -> bytes:
    payload = b"\xff" + struct.pack("<H", code) + b"#" + sqlstate.encode() + message.encode()
    return len(payload).to_bytes(3, "little") + b"\x01" + payload  # the reply to a command has sequence 1


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
    except OSError:
        pass
    _close_quietly(sock)


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
