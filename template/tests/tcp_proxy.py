"""A TCP proxy on 127.0.0.1 in front of a server, to play its outages without touching it.

- `stop()`: the port refuses connections, and open ones are dropped (a server that is down);
- `freeze()`: open and new connections carry nothing either way (a network that drops
  packets, a server that hangs); `thaw()` delivers what waited, as a healed network would;
- `cut()`: open connections are dropped, new ones are served (a restart, a failover);
- `start()`: serve again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = False
        self.connections = 0
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.start()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # 0: any free port
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            # Python 3.14 keeps the port bound while a thread is still in accept(): wait for it
            # to notice (within its 0.1 s timeout), so that start() can bind the port again.
            self._accepting.join()
        self.cut()

    def freeze(self) -> None:
        self.frozen = True

    def thaw(self) -> None:
        self.frozen = False

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            for source, destination in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, destination), daemon=True).start()

    def _pipe(self, source: socket.socket, destination: socket.socket) -> None:
        """Copy one direction, holding each chunk while frozen; when it ends, end both."""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while self.frozen:
                    time.sleep(0.02)
                destination.sendall(data)
        for sock in (source, destination):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
