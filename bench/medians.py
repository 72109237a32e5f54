"""Medians of several performance records, and the targets judged on them: a benchmark
helper, not a test.

On the project's virtual machine one `make bench` run can differ from the next by a third
in throughput with nothing else running, so docs/performance.md gives medians of several
runs of each side, interleaved (before, after, before, after). This prints them from the
result files, each figure with its runs, the median and after ÷ before, then each speed
target judged on the medians (bench/record.py's `targets`):

    .venv/bin/python bench/medians.py --before OLD1.json OLD2.json OLD3.json \\
        --after NEW1.json NEW2.json NEW3.json
"""

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import targets

PER_REQUEST = ("placed_order", "sold_out", "callback")
FLASH_FIGURES = ("requests_per_s", "orders_per_s")


def median_record(records: list[dict]) -> dict:
    """A record whose figures are the medians of `records` (same workload and client counts)."""
    median = copy.deepcopy(records[0])
    for kind in PER_REQUEST:
        for part in median[kind]["cpu_ms"]:
            median[kind]["cpu_ms"][part] = statistics.median(r[kind]["cpu_ms"][part] for r in records)
        median[kind]["sql_statements"] = statistics.median(r[kind]["sql_statements"] for r in records)
    storm = median["webhook_storm"]
    storm["callbacks_per_s"] = statistics.median(r["webhook_storm"]["callbacks_per_s"] for r in records)
    storm["check"]["exactly_once"] = all(r["webhook_storm"]["check"]["exactly_once"] for r in records)
    for index, run in enumerate(median["flash_sale"]):
        runs = [r["flash_sale"][index] for r in records]
        for figure in FLASH_FIGURES:
            run[figure] = statistics.median(other[figure] for other in runs)
        run["latency"]["p99_ms"] = statistics.median(other["latency"]["p99_ms"] for other in runs)
        run["oversold"] = any(other["oversold"] for other in runs)
    summary = median["summary"]
    summary["no_oversell"] = not any(run["oversold"] for run in median["flash_sale"])
    for key in [key for key in summary if key.endswith("_throughput_vs_0ms_pct")]:
        summary[key] = statistics.median(r["summary"][key] for r in records)
    return median


def rows(before: list[dict], after: list[dict]) -> list[tuple[str, list, list]]:
    found = []
    for kind in PER_REQUEST:
        found.append(
            (
                f"server CPU ms, {kind}",
                [r[kind]["cpu_ms"]["server"] for r in before],
                [r[kind]["cpu_ms"]["server"] for r in after],
            )
        )
    found.append(
        (
            "webhook storm callbacks/s",
            [r["webhook_storm"]["callbacks_per_s"] for r in before],
            [r["webhook_storm"]["callbacks_per_s"] for r in after],
        )
    )
    for index, run in enumerate(after[0]["flash_sale"]):
        name = f"flash, Xendit {run['gateway_latency_ms']} ms, {run['clients']} clients"
        for figure in (*FLASH_FIGURES, "p99_ms"):
            found.append(
                (
                    f"{name}: {figure}",
                    [_flash(r, index, figure) for r in before],
                    [_flash(r, index, figure) for r in after],
                )
            )
    return found


def _flash(record: dict, index: int, figure: str):
    run = record["flash_sale"][index]
    return run["latency"]["p99_ms"] if figure == "p99_ms" else run[figure]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, nargs="+", required=True)
    parser.add_argument("--after", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    before = [json.loads(path.read_text()) for path in args.before]
    after = [json.loads(path.read_text()) for path in args.after]

    for name, old, new in rows(before, after):
        old_median, new_median = statistics.median(old), statistics.median(new)
        ratio = f"{new_median / old_median:.2f}" if old_median else "-"
        print(f"{name:52s} before {old} median {old_median}  after {new} median {new_median}  after/before {ratio}")
    median_after = median_record(after)
    print("targets, on the medians:")
    for found in targets(median_after, median_record(before)):
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[found["met"]]
        print(f"  {verdict:<12} {found['target']}: {found['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
