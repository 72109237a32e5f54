"""The two stock statements of a flash sale in SQL: the conditional UPDATE every request
runs, and the read that explains a refusal (most answers of a sale are "sold out").

Why SQL here and nowhere else: Django builds these statements from scratch on every call
(the UPDATE compares a sum of F() expressions with a column and checks the sale window;
`.first()` orders by the model's default ordering, which joins the event). Measured on our
benchmark machine: about 1.4 ms and 1.5 ms of CPU per call through the ORM, more than the
database spends running them, against about 0.1 ms each written once. Every placed order
and every sold-out answer of a sale runs them, so that is CPU the web workers keep for
buyers.

The UPDATE is the one `tickets/services.py::stock_reserve` documents (docs/architecture.md:
one conditional UPDATE per ticket; seats and sale window checked by the row itself). Table
and column names are read from the model and quoted by the connection, so SQLite and
MariaDB run the same text; the stock tests run on both.
"""

import functools
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from tickets.models import Ticket


@functools.cache
def _reserve_sql(vendor: str, *, require_on_sale: bool) -> str:
    # Built once per database kind. Only names from the model go into the text (quoted);
    # every value is a parameter.
    quote = connection.ops.quote_name
    table = quote(Ticket._meta.db_table)
    ticket_id, held, quota, is_active, valid_from, valid_until = (
        quote(Ticket._meta.get_field(name).column)
        for name in ("id", "held", "quota", "is_active", "valid_from", "valid_until")
    )
    sql = f"UPDATE {table} SET {held} = {held} + %s WHERE {ticket_id} = %s AND {held} + %s <= {quota}"  # noqa: S608
    if require_on_sale:
        # `tickets.services.on_sale_filter`, the same three conditions.
        sql += f" AND {is_active} AND {valid_from} <= %s AND {valid_until} > %s"
    return sql


def stock_row_reserve(*, ticket_id: int, units: int, now: datetime, require_on_sale: bool) -> bool:
    """Take `units` of the ticket's row if they fit (and it is on sale); True when taken."""
    params: list = [units, ticket_id, units]
    if require_on_sale:
        moment = connection.ops.adapt_datetimefield_value(now)
        params += [moment, moment]
    with connection.cursor() as cursor:
        cursor.execute(_reserve_sql(connection.vendor, require_on_sale=require_on_sale), params)
        return cursor.rowcount == 1


class TicketStock(NamedTuple):
    name: str
    quota: int
    held: int
    on_sale: bool

    @property
    def available(self) -> int:
        return max(self.quota - self.held, 0)


@functools.cache
def _read_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    table = quote(Ticket._meta.db_table)
    ticket_id, name, quota, held, is_active, valid_from, valid_until = (
        quote(Ticket._meta.get_field(field).column)
        for field in ("id", "name", "quota", "held", "is_active", "valid_from", "valid_until")
    )
    # The sale window is judged by the database, as in the UPDATE: no dates to convert here.
    on_sale = f"CASE WHEN {is_active} AND {valid_from} <= %s AND {valid_until} > %s THEN 1 ELSE 0 END"
    return f"SELECT {name}, {quota}, {held}, {on_sale} FROM {table} WHERE {ticket_id} = %s"  # noqa: S608


def stock_row_read(ticket_id: int, *, now: datetime) -> TicketStock | None:
    """What explains a refused reserve, as the database has it now: name, quota, held and
    whether the phase is on sale at `now`; None when there is no such ticket."""
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_read_sql(connection.vendor), [moment, moment, ticket_id])
        row = cursor.fetchone()
    return None if row is None else TicketStock(row[0], int(row[1]), int(row[2]), bool(row[3]))
