"""Cost per request of two (or more) checkouts, interleaved: a benchmark, not a test.

On a shared machine a run's CPU figures move with what else runs; comparing runs made
minutes apart mixes that in. This runs only the record's cost phases (bench/record.py),
for each checkout in turn, round after round, so every checkout meets the same load:

- a placed order (201) and a sold-out answer (409), as in the record;
- a callback's first delivery and its copy apart (the record's storm mixes them): the
  invoices of placed orders paid at the simulator without a callback, every callback
  delivered once, then every one again;
- the webhook storm, as in the record (exactly once checked).

    .venv/bin/python bench/costs.py --app-dir /tmp/old --app-dir . --rounds 2

Writes bench/results/quick/<date>-costs.json (git ignores that folder) and prints a
summary per checkout and round.
"""

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
from measure import Meter
from record import (
    RESULTS,
    Numbers,
    callback_body,
    git_commit,
    machine,
    order_request,
    pay_invoices,
    phase_cost,
    setup_catalog,
    webhook_storm,
)
from stack import CALLBACK_TOKEN, Stack


def costs(app_dir: Path, per_request: int, invoices: int, clients: int) -> dict:
    stack = Stack(app_dir=app_dir)
    meter = None
    run: dict = {"app_dir": str(app_dir), "commit": git_commit(app_dir)}
    try:
        stack.start()
        meter = Meter(stack)
        catalog = setup_catalog(stack, [])
        key, numbers = catalog["key"], Numbers()
        # Connections opened and code paths warmed in every worker thread before measuring.
        load.run(stack.base_url, [order_request(key, catalog["gone"], 1, n) for n in numbers.take(200)], 50)
        load.run(stack.base_url, [order_request(key, catalog["plenty"], 1, n) for n in numbers.take(100)], clients)

        placing = [order_request(key, catalog["plenty"], 1, n) for n in numbers.take(per_request)]
        answers, _, run["placed_order"] = phase_cost(stack, meter, placing, clients)
        invoice_ids = [
            {"id": answer.body["invoice_url"].rstrip("/").rsplit("/", 1)[-1]}
            for answer in answers
            if answer.status == 201
        ]
        refusals = [order_request(key, catalog["gone"], 1, n) for n in numbers.take(per_request)]
        _, _, run["sold_out"] = phase_cost(stack, meter, refusals, clients)

        paid = pay_invoices(stack, invoice_ids[invoices : 2 * invoices])
        deliveries = [
            load.Request("/api/payment-callback", callback_body(invoice), {"x-callback-token": CALLBACK_TOKEN})
            for invoice in paid
        ]
        _, _, run["callback_first_delivery"] = phase_cost(stack, meter, deliveries, clients)
        _, _, run["callback_copy"] = phase_cost(stack, meter, deliveries, clients)

        storm = webhook_storm(stack, meter, invoice_ids[:invoices], 100, seed=7)
        kept = ("callbacks_per_s", "outcomes", "check", "cost_per_delivery")
        run["webhook_storm"] = {name: storm[name] for name in kept}
    finally:
        if meter is not None:
            meter.close()
        stack.stop()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", type=Path, action="append", required=True, help="a checkout (repeat)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-request", type=int, default=400, help="placed orders and sold-out answers")
    parser.add_argument("--invoices", type=int, default=150, help="callbacks per cost phase and in the storm")
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    if args.per_request < 2 * args.invoices:
        parser.error("--per-request must place at least twice --invoices orders")

    started_at = datetime.now(UTC)
    record: dict = {"date": started_at.isoformat(timespec="seconds"), "machine": machine(), "runs": []}
    for round_number in range(1, args.rounds + 1):
        for app_dir in args.app_dir:
            run = {"round": round_number, **costs(app_dir, args.per_request, args.invoices, args.clients)}
            record["runs"].append(run)
            _print_run(run)
    folder = RESULTS / "quick"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (started_at.strftime("%Y-%m-%dT%H%M") + "-costs.json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"results: {path}")
    return 0 if all(run["webhook_storm"]["check"]["exactly_once"] for run in record["runs"]) else 1


def _print_run(run: dict) -> None:
    print(f"== round {run['round']}: {run['app_dir']} ({run['commit']})")
    for name in ("placed_order", "sold_out", "callback_first_delivery", "callback_copy"):
        spent = run[name]
        cpu = spent["cpu_ms"]
        print(
            f"  {name:24s} server CPU {cpu['server']:6.2f} ms (web {cpu['web']}, db {cpu['db']}, redis {cpu['redis']}),"
            f" {spent['sql_statements']} SQL statements ({spent['db_round_trips']} round trips)"
        )
    storm = run["webhook_storm"]
    print(
        f"  webhook storm {storm['callbacks_per_s']} callbacks/s, {storm['cost_per_delivery']['cpu_ms']['server']} ms"
        f" server CPU per delivery, exactly once: {storm['check']['exactly_once']}"
    )


if __name__ == "__main__":
    sys.exit(main())
