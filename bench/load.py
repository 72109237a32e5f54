"""The load: `clients` threads, each with one keep-alive HTTP connection, working through
a list of requests as fast as the server answers (a closed loop: a client sends its next
request when the last one is answered)."""

import http.client
import itertools
import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class Request:
    path: str
    body: dict
    headers: dict


@dataclass(frozen=True)
class Answer:
    status: int
    code: str  # the error code of a 4xx/5xx JSON body, "" otherwise
    started: float
    elapsed: float
    body: dict | None


def run(base_url: str, requests: Sequence[Request], clients: int) -> tuple[list[Answer], float]:
    """Send every request once; returns the answers (in request order) and the wall time."""
    url = urlparse(base_url)
    answers: list[Answer | None] = [None] * len(requests)
    next_index = itertools.count()
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        while True:
            with lock:
                index = next(next_index)
            if index >= len(requests):
                break
            answers[index] = _send(connection, requests[index])
            if answers[index].status == 0:
                connection.close()
                connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - started  # type: ignore[return-value]


def _send(connection: http.client.HTTPConnection, request: Request) -> Answer:
    payload = json.dumps(request.body).encode()
    headers = {"Content-Type": "application/json", **request.headers}
    started = time.perf_counter()
    try:
        connection.request("POST", request.path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        return Answer(0, "connection-error", started, time.perf_counter() - started, None)
    elapsed = time.perf_counter() - started
    try:
        body = json.loads(raw)
    except ValueError:
        return Answer(status, "non-json", started, elapsed, None)
    code = body.get("error", {}).get("code", "") if status >= 400 and isinstance(body, dict) else ""
    return Answer(status, code, started, elapsed, body)


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def latency_summary(answers: Sequence[Answer], keep: Callable[[Answer], bool] = lambda answer: True) -> dict:
    values = [answer.elapsed for answer in answers if keep(answer)]
    if not values:
        return {}
    return {
        "count": len(values),
        "p50_ms": round(1000 * percentile(values, 50)),
        "p95_ms": round(1000 * percentile(values, 95)),
        "p99_ms": round(1000 * percentile(values, 99)),
        "mean_ms": round(1000 * statistics.mean(values)),
    }


def answer_counts(answers: Sequence[Answer]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        key = f"{answer.status} {answer.code}".strip()
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
