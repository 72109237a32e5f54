"""A small client for the simulator's control API, used by the `xendit_simulator` pytest
fixture (root conftest.py), benchmarks and scripts. Plain HTTP, so it works against a
live server or the standalone `manage.py xendit_simulator` process alike."""

import base64
import json

import urllib3


class SimulatorError(Exception):
    def __init__(self, status: int, body):
        super().__init__(f"simulator answered HTTP {status}: {body}")
        self.status = status
        self.body = body


class SimulatorControl:
    def __init__(self, base_url: str, secret_key: str, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{secret_key}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self._timeout = urllib3.Timeout(total=timeout)

    def _request(self, method: str, path: str, body: dict | None = None):
        # A pool per call, closed at once: an idle keep-alive connection would hold a live
        # server thread (and its DB connection) open past the end of the test.
        with urllib3.PoolManager(retries=False, timeout=self._timeout) as http:
            response = http.request(
                method,
                f"{self.base_url}{path}",
                headers=self._headers,
                body=json.dumps(body).encode() if body is not None else None,
            )
        data = json.loads(response.data) if response.data else None
        if response.status >= 400:
            raise SimulatorError(response.status, data)
        return data

    def pay(
        self,
        invoice_id: str,
        channel: str = "BCA",
        callback: str = "send",
        amount: int | None = None,
        delay: float | None = None,
    ) -> dict:
        """Pay the invoice; returns {"invoice": {...}, "callbacks": [delivery results]}.
        `callback`: "send", "twice", "none" (lost for good) or "late" (sent by the clock
        `delay` seconds later)."""
        body = {"channel": channel, "callback": callback}
        if amount is not None:
            body["amount"] = amount
        if delay is not None:
            body["delay"] = delay
        return self._request("POST", f"/simulate/{invoice_id}/pay", body)

    def tick(self) -> dict:
        """One tick of the simulator's clock now: invoices past their expiry date expire
        (EXPIRED callback), callbacks whose (re)try is due are sent."""
        return self._request("POST", "/simulate/tick", {})

    def expire(self, invoice_id: str, callback: str = "send") -> dict:
        return self._request("POST", f"/simulate/{invoice_id}/expire", {"callback": callback})

    def settle(self, invoice_id: str) -> dict:
        return self._request("POST", f"/simulate/{invoice_id}/settle", {})

    def invoice(self, invoice_id: str) -> dict:
        """The invoice as Xendit would answer it, plus "callbacks": every delivery recorded."""
        data = self._request("GET", f"/simulate/{invoice_id}")
        return {**data["invoice"], "callbacks": data["callbacks"]}

    def inject_fault(
        self, kind: str = "any", mode: str = "error", *, count: int = 1, status: int | None = None, seconds: float = 0
    ) -> dict:
        """The next `count` invoice API calls of `kind` (create/get/list/expire/any) answer
        with `mode`: "error" (status, default 503), "non_json", "delay" or "hang" (seconds), or
        "malformed" (a 200 invoice the SDK cannot validate)."""
        body = {"kind": kind, "mode": mode, "count": count, "status": status, "seconds": seconds}
        return self._request("POST", "/simulate/faults", body)

    def clear_faults(self) -> dict:
        return self._request("DELETE", "/simulate/faults")

    # --- refunds (payments/gateways/simulator/refunds.py) ---

    def refund_succeed(self, refund_id: str, callback: str = "send") -> dict:
        """Settle a PENDING refund as SUCCEEDED and send `refund.succeeded`; returns
        {"refund": {...}, "callbacks": [delivery results]}."""
        return self._request("POST", f"/simulate/refunds/{refund_id}/succeed", {"callback": callback})

    def refund_fail(self, refund_id: str, callback: str = "send", failure_code: str = "") -> dict:
        body = {"callback": callback, "failure_code": failure_code}
        return self._request("POST", f"/simulate/refunds/{refund_id}/fail", body)

    def refund(self, refund_id: str) -> dict:
        data = self._request("GET", f"/simulate/refunds/{refund_id}")
        return {**data["refund"], "callbacks": data["callbacks"]}

    def refunds(self, invoice_id: str | None = None) -> list[dict]:
        """Every refund the simulator holds (of one invoice), newest first."""
        query = f"?invoice_id={invoice_id}" if invoice_id else ""
        return self._request("GET", f"/refunds{query}")["data"]
