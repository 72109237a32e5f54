"""A throwaway Xendit that answers every invoice call with one canned invoice (test helper).

The simulator only ever sends well-formed invoices. This stub sends one the SDK validates
(every required field present) but whose extra keys are not what Xendit documents, e.g.
`paid_at` that is not a date: the reply the SDK accepts and our mapping cannot read.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def invoice_body(external_id: str, **extra) -> dict:
    return {
        "id": "6748105a77f16ebe0cc583a7",
        "external_id": external_id,
        "user_id": "62440e32a1b2c3d4e5f60718",
        "status": "PENDING",
        "merchant_name": "TEDx Indonesia",
        "merchant_profile_picture_url": "https://du8nwjtfkinx.cloudfront.net/xendit.png",
        "amount": 350000,
        "expiry_date": "2026-11-28T07:10:26.508Z",
        "invoice_url": "https://checkout.xendit.co/web/6748105a77f16ebe0cc583a7",
        "available_banks": [],
        "available_retail_outlets": [],
        "available_ewallets": [],
        "available_qr_codes": [],
        "available_direct_debits": [],
        "available_paylaters": [],
        "should_send_email": False,
        "created": "2026-11-28T06:40:26.508Z",
        "updated": "2026-11-28T06:40:26.508Z",
        "currency": "IDR",
        **extra,
    }


@dataclass
class XenditStub:
    base_url: str = ""
    extra: dict = field(default_factory=dict)  # keys added to (or replacing) every invoice
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)


def _handler(stub: XenditStub):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            self.log_request_line("POST")
            self._answer(invoice_body(request.get("external_id", ""), **stub.extra))

        def do_GET(self):
            self.log_request_line("GET")
            if "external_id=" in self.path:  # the list: a bare JSON array
                self._answer([invoice_body(self.path.partition("external_id=")[2], **stub.extra)])
            else:
                self._answer(invoice_body("TDX-STUB0001", **stub.extra))

        def log_request_line(self, method: str) -> None:
            stub.requests.append((method, self.path))

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler


@contextmanager
def running_xendit_stub(settings, **extra) -> Iterator[XenditStub]:
    """Starts the stub and points XENDIT_BASE_URL at it."""
    stub = XenditStub(extra=extra)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.XENDIT_BASE_URL = stub.base_url
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
