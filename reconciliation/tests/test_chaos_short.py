"""The short chaos run (`bench/chaos.py --short`, about 150 orders) as part of the suite: the
whole real stack with Xendit faults, lost, doubled and late callbacks and the worker killed
with SIGKILL must end with zero discrepancies and a reconciliation report with every
invoice matched or explained. It starts its own MariaDB and Redis, like `make chaos`."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not shutil.which("mariadbd") or not shutil.which("redis-server"),
    reason="needs MariaDB and Redis installed (make test): the chaos run starts its own",
)


def test_a_short_chaos_run_ends_with_zero_discrepancies(tmp_path):
    result_file = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, "bench/chaos.py", "--short", "--json", str(result_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )

    print(run.stdout[-6000:])  # shown by pytest when the test fails
    print(run.stderr[-3000:])
    assert run.returncode == 0
    assert "RESULT: ok, zero discrepancies" in run.stdout
    # A passed run leaves nothing behind: its database alone is about 200 MB.
    run_dir = re.search(r" in (\S+tedxpay-chaos\.\S+)$", run.stdout, re.MULTILINE)
    assert run_dir, "the run names its folder"
    assert not Path(run_dir.group(1)).exists()
