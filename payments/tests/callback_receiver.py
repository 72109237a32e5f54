"""A throwaway HTTP server that records the callbacks the simulator sends (test helper).

Used until POST /api/payment-callback exists, and to see exactly what went over the wire
(headers and raw body) without any of our webhook code in between.
"""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedCallback:
    path: str
    headers: dict
    body: dict


@dataclass
class CallbackReceiver:
    url: str
    status: int = 200  # what the receiver answers; tests set 500 to see a failed delivery
    received: list[ReceivedCallback] = field(default_factory=list)
    # Called with each body before answering, like a webhook that re-reads the invoice.
    on_receive: Callable[[dict], None] | None = None


def _handler(receiver: CallbackReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if receiver.on_receive:
                receiver.on_receive(json.loads(raw))
            receiver.received.append(
                ReceivedCallback(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw))
            )
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler


@contextmanager
def running_receiver(settings) -> Iterator[CallbackReceiver]:
    """Starts the receiver and points XENDIT_CALLBACK_URL at it (use from a fixture)."""
    receiver = CallbackReceiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.XENDIT_CALLBACK_URL = receiver.url
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
