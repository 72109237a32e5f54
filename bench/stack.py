"""The servers a benchmark runs against, started in a private folder on loopback and
stopped by pid: MariaDB and Redis (scripts/services.sh), the Xendit simulator as its own
process, and gunicorn serving tedxpay with DEBUG off, as in production.

The simulator keeps its invoices in a SQLite file of its own, not in MariaDB: the
database's counters and CPU then belong to tedxpay alone, and the simulator's work is
measured as a process of its own (it stands in for Xendit, which is not our CPU).

`app_dir` may point at another checkout of tedxpay (an older commit, for a before/after
comparison): its code is served with the same settings, servers and load.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
CALLBACK_TOKEN = "bench-callback-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Stack:
    def __init__(
        self,
        *,
        app_dir: Path = ROOT,
        workers: int = 4,
        threads: int = 32,
        extra_env: dict | None = None,
        gunicorn_args: tuple = (),
    ):
        self.app_dir = Path(app_dir).resolve()
        self.workers = workers
        self.threads = threads
        self.run_dir = Path(tempfile.mkdtemp(prefix="tedxpay-bench."))
        self.web_port = free_port()
        self.simulator_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.simulator_url = f"http://127.0.0.1:{self.simulator_port}/_xendit"
        self._extra_env = extra_env or {}
        self.gunicorn_args = tuple(gunicorn_args)
        self.gunicorn: subprocess.Popen | None = None
        self.simulator: subprocess.Popen | None = None
        self._log = None
        self.env: dict = {}
        self.service_env: dict = {}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "start", str(self.run_dir)], check=True)
        self.service_env = dict(line.split("=", 1) for line in (self.run_dir / "env").read_text().split())
        self.env = {
            **os.environ,
            **self.service_env,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.base_url,
            "TEDXPAY_VAR_DIR": str(self.run_dir / "var"),
            "CELERY_BROKER_URL": self.service_env["REDIS_URL"],
            "CACHE_URL": self.service_env["REDIS_URL"].rsplit("/", 1)[0] + "/1",
            # Plain HTTP on loopback: no HTTPS redirect; /metrics needs a token with DEBUG off.
            "SECURE_SSL_REDIRECT": "false",
            "METRICS_TOKEN": "bench-only",
            "XENDIT_SIMULATOR_ENABLED": "true",
            "XENDIT_SECRET_KEY": "xnd_development_bench",
            "XENDIT_CALLBACK_TOKEN": CALLBACK_TOKEN,
            "XENDIT_BASE_URL": self.simulator_url,
            "XENDIT_CALLBACK_URL": f"{self.base_url}/api/payment-callback",
            # The limits a public sale has (throttles, holds per client) are not what is
            # measured here: one bench client stands for thousands of buyers.
            "API_THROTTLE_RATE": "100000000/min",
            "API_ANON_THROTTLE_RATE": "100000000/min",
            "HOLD_MAX_SEATS_PER_ADDRESS": "0",  # 0: the hoarding caps off
            "HOLD_MAX_PENDING_ORDERS_PER_BUYER": "0",
            "HOLD_MAX_SEATS_PER_API_KEY": "0",
            "DATABASE_CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(self.app_dir),
            **self._extra_env,
        }
        self.manage("migrate", "--no-input")
        self.manage("migrate", "--no-input", env=self._simulator_env())
        self._log = open(self.run_dir / "servers.log", "w")  # noqa: SIM115 (closed in stop)
        self.start_simulator(latency_ms=0)
        self.gunicorn = subprocess.Popen(
            [
                GUNICORN,
                "tedxpay.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                "--no-control-socket",
                "--timeout",
                "60",
                "--pid",
                str(self.run_dir / "gunicorn.pid"),
                *self.gunicorn_args,
            ],
            cwd=self.app_dir,
            env=self.env,
            stdout=self._log,
            stderr=self._log,
        )
        wait_http(f"{self.base_url}/healthz")

    def _simulator_env(self, latency_ms: int = 0) -> dict:
        return {
            **self.env,
            "DATABASE_URL": f"sqlite:///{self.run_dir / 'simulator.sqlite3'}",
            "XENDIT_SIMULATOR_LATENCY_MS": str(latency_ms),
        }

    def start_simulator(self, *, latency_ms: int) -> None:
        """(Re)start the simulator answering every API call after `latency_ms`."""
        self.stop_simulator()
        self.simulator = subprocess.Popen(
            [PYTHON, "manage.py", "xendit_simulator", "--port", str(self.simulator_port)],
            cwd=self.app_dir,
            env=self._simulator_env(latency_ms),
            stdout=self._log,
            stderr=self._log,
        )
        wait_http(f"{self.simulator_url}/v2/invoices/none")

    def stop_simulator(self) -> None:
        if self.simulator is not None:
            _stop(self.simulator)
            self.simulator = None

    def stop(self) -> None:
        if self.gunicorn is not None:
            _stop(self.gunicorn)
        self.stop_simulator()
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop", str(self.run_dir)], check=False)
        if self._log:
            self._log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------

    def manage(self, *args: str, env: dict | None = None) -> str:
        out = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=self.app_dir, env=env or self.env, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stderr}")
        return out.stdout

    def django(self, script: str) -> str:
        """Run a script in `manage.py shell` of the served code; its last printed line."""
        return self.manage("shell", "-c", script).strip().splitlines()[-1]

    def pids(self) -> dict[str, list[int]]:
        """Processes by role, for CPU accounting: gunicorn's master and its workers are "web"."""
        master = int((self.run_dir / "gunicorn.pid").read_text())
        return {
            "web": [master, *_children(master)],
            "db": [int((self.run_dir / "mysqld.pid").read_text())],
            "redis": [int((self.run_dir / "redis.pid").read_text())],
            "simulator": [self.simulator.pid] if self.simulator else [],
        }


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces: the parent pid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
