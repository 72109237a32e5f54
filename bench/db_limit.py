"""The database's own limit for tedxpay's order transaction on one hot ticket row.

The transaction an order placement commits (docs/architecture.md: reserve first, then insert): the
conditional stock UPDATE of the ticket row, then the buyer, the order, its line, its
payment and the audit row, then COMMIT. Here it runs with no web server and no ORM in
the way: `connections` threads, each with its own MySQLdb connection (READ COMMITTED,
as tedxpay's settings), as fast as MariaDB commits them, for `seconds`.

The INSERT statements are built once by Django's own SQL compiler from the project's
models (so a column added to a model is in the measurement too), with placeholders for
the foreign keys and the unique codes; the timed loop only sends them.

Run by bench/record.py as `python bench/db_limit.py TICKET_ID CONNECTIONS SECONDS` with
the served code's environment; prints one JSON line.
"""

import json
import os
import sys
import threading
import time

BUYER_ID, ORDER_ID, CODE = -7_000_001, -7_000_002, "@@CODE@@"


def _insert(model, **values) -> tuple[str, list]:
    from django.db import connection
    from django.db.models.sql import InsertQuery

    instance = model(**values)
    fields = [field for field in model._meta.local_concrete_fields if not field.primary_key]
    query = InsertQuery(model)
    query.insert_values(fields, [instance])
    sql, params = query.get_compiler(connection=connection).as_sql()[0]
    return sql, list(params)


def _templates(ticket_id: int) -> tuple[str, list[tuple[str, list]]]:
    from django.conf import settings
    from django.utils import timezone

    from orders.models import Buyer, Order, OrderEvent, OrderItem
    from payments.models import Payment
    from tickets.models import Ticket

    ticket = Ticket.objects.get(pk=ticket_id)
    now = timezone.now()
    reserve = (
        "UPDATE tickets_ticket SET held = held + 1 WHERE id = %s AND held + 1 <= quota"
        " AND is_active AND valid_from <= UTC_TIMESTAMP() AND valid_until > UTC_TIMESTAMP()"
    )
    inserts = [
        _insert(Buyer, full_name="Bench Buyer", email="bench@example.com", phone="+6281234567890"),
        _insert(
            Order,
            code=CODE,
            buyer_id=BUYER_ID,
            event_id=ticket.event_id,
            total=ticket.price,
            currency=settings.CURRENCY,
            expires_at=now + settings.ORDER_TTL,
        ),
        _insert(OrderItem, order_id=ORDER_ID, ticket_id=ticket.pk, quantity=1, unit_price=ticket.price),
        _insert(Payment, order_id=ORDER_ID, external_id=CODE, amount=ticket.price),
        _insert(OrderEvent, order_id=ORDER_ID, to_status="PENDING", source="api", request_id="bench"),
    ]
    return reserve, inserts


def measure(ticket_id: int, connections: int, seconds: float) -> dict:
    import MySQLdb
    from django.db import connection as django_connection

    reserve, inserts = _templates(ticket_id)
    settings = django_connection.settings_dict
    connect = dict(
        host=settings["HOST"],
        port=int(settings["PORT"]),
        user=settings["USER"],
        passwd=settings["PASSWORD"],
        db=settings["NAME"],
        charset="utf8mb4",
        init_command="SET sql_mode='STRICT_TRANS_TABLES'",
    )
    counts = [0] * connections
    failures = [0] * connections
    barrier = threading.Barrier(connections + 1)
    stop_at = [0.0]

    def worker(slot: int) -> None:
        db = MySQLdb.connect(**connect)
        db.autocommit(False)
        cursor = db.cursor()
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        number = 0
        barrier.wait()
        while time.monotonic() < stop_at[0]:
            number += 1
            code = f"B{slot:03d}{number:09d}"
            cursor.execute(reserve, (ticket_id,))
            if cursor.rowcount != 1:
                db.rollback()
                failures[slot] += 1
                continue
            ids = {BUYER_ID: None, ORDER_ID: None}
            for index, (sql, params) in enumerate(inserts):
                values = [
                    code if value == CODE else ids[value] if value in (BUYER_ID, ORDER_ID) else value
                    for value in params
                ]
                cursor.execute(sql, values)
                if index == 0:
                    ids[BUYER_ID] = cursor.lastrowid
                elif index == 1:
                    ids[ORDER_ID] = cursor.lastrowid
            db.commit()
            counts[slot] += 1
        db.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(connections)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "connections": connections,
        "seconds": round(elapsed, 2),
        "transactions": sum(counts),
        "transactions_per_s": round(sum(counts) / elapsed),
        "refused_reserves": sum(failures),
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tedxpay.settings")
    import django

    django.setup()
    ticket, connections, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(measure(ticket, connections, seconds)))
