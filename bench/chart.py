"""The chart of a performance record: flash-sale throughput and p99 latency against the
number of clients, one line per simulated Xendit latency (and a baseline record's lines,
dashed, when one is given).

    .venv/bin/python bench/chart.py bench/results/NEW.json [--baseline OLD.json] [--out FILE.png]
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write a file
import matplotlib.pyplot as plt


def _series(record: dict) -> dict[int, list[dict]]:
    series: dict[int, list[dict]] = {}
    for run in record["flash_sale"]:
        series.setdefault(run["gateway_latency_ms"], []).append(run)
    return {latency: sorted(runs, key=lambda run: run["clients"]) for latency, runs in sorted(series.items())}


def draw(record: dict, out: Path, baseline: dict | None = None) -> Path:
    figure, (throughput, p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    for data, style, tag in ((record, "-o", ""), (baseline, "--x", " (before)")):
        if not data:
            continue
        for latency, runs in _series(data).items():
            clients = [run["clients"] for run in runs]
            label = f"Xendit {latency} ms{tag}"
            throughput.plot(clients, [run["requests_per_s"] for run in runs], style, label=label)
            p99.plot(clients, [run["latency"]["p99_ms"] for run in runs], style, label=label)
    throughput.set(title="Flash sale throughput", xlabel="clients", ylabel="requests/s")
    p99.set(title="Flash sale p99 latency", xlabel="clients", ylabel="ms")
    for axis in (throughput, p99):
        axis.grid(True, alpha=0.3)
        axis.legend()
        axis.set_ylim(bottom=0)
    when = record.get("date", "")[:16]
    figure.suptitle(f"tedxpay {record.get('commit', '')}, {when}, {record['settings']['gunicorn']}")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", type=Path)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    record = json.loads(args.record.read_text())
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    print(draw(record, args.out or args.record.with_suffix(".png"), baseline))
