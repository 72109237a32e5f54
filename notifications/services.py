"""Notifications: emails owed to buyers.

A notification row is written in the transaction that makes it owed (an order paid,
expired…), at most one per (order, kind); the send task starts only after that
transaction commits, so a rolled-back change never emails anyone. A copy finance asks for
is a new row pointing at the original (`notification_resend`). Every row, original or
copy, goes out through the same claim, send and release (`notification_send`).

Queueing that task can fail after the commit (the broker is down): the change stands, the
failure is logged, and `notifications_requeue_stalled` (beat) queues the row again later.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from notifications.emails import notification_message
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.tasks import notification_send_task, notifications_send_start_task
from orders.audit import order_event_record
from orders.models import Buyer, EventSource, Order, OrderStatus
from tedxpay.core.errors import Conflict

logger = logging.getLogger("tedxpay.notifications")


def notification_queue(*, order, kind: str, refund_reference: str = "") -> Notification:
    """Owe the buyer the `kind` email for this order (and refund, for refund emails).
    Idempotent: a second call for the same (order, kind, refund) returns the existing row
    and starts no second send."""
    notification, created = Notification.objects.get_or_create(
        order=order,
        kind=kind,
        refund_reference=refund_reference,
        copy_number=0,
        defaults={"to_email": order.buyer.email, "language": order.language},
    )
    if created:
        # robust: this runs after the commit, so an error here must not turn the committed
        # change into an error answer (a webhook marked failed for a PAID order, a free
        # order placed twice when its Idempotency-Key is freed by the 5xx).
        transaction.on_commit(lambda: notification_send_start_or_leave(notification.pk), robust=True)
    return notification


def notification_queue_first(*, order, kind: str) -> Notification:
    """`notification_queue` for an email owed once, by a transition that has just happened
    under the order's lock (the confirmation of an order that became PAID now): the row
    cannot exist yet, so it is inserted without looking for it first (no SELECT, no
    savepoint). The unique (order, kind, refund, copy) would still refuse a second one,
    rolling the transition back whole."""
    notification = Notification.objects.create(
        order=order, kind=kind, to_email=order.buyer.email, language=order.language
    )
    transaction.on_commit(lambda: notification_send_start_or_leave(notification.pk), robust=True)
    return notification


def notifications_queue_new(*, orders, kind: str, refund_reference: str) -> int:
    """`notification_queue` for many orders at once, for a `refund_reference` that is new
    (an event's move just recorded: no email of it can exist yet), so the rows are inserted
    in batches without looking for them first; the unique (order, kind, reference, copy)
    still refuses a second set. The emails are sent after commit, started by one message
    per `FAN_OUT_BATCH` (`notifications_send_start_task`): a request that publishes one
    message per buyer takes seconds for a big event, and with the broker down minutes (each
    publish retried), while one failed message leaves its rows to the stalled sweep just the
    same. Returns how many."""
    rows = [
        Notification(
            order=order,
            kind=kind,
            refund_reference=refund_reference,
            to_email=order.buyer.email,
            language=order.language,
        )
        for order in orders
    ]
    created = Notification.objects.bulk_create(rows, batch_size=500)
    ids = [row.pk for row in created]
    batches = [ids[start : start + FAN_OUT_BATCH] for start in range(0, len(ids), FAN_OUT_BATCH)]
    transaction.on_commit(lambda: [_fan_out_after_commit(batch) for batch in batches], robust=True)
    return len(ids)


FAN_OUT_BATCH = 500  # ids per message: a few kilobytes of JSON


def _fan_out_after_commit(notification_ids: list[int]) -> None:
    try:
        notifications_send_start_task.delay(notification_ids)
    except Exception:
        logger.exception(
            "notifications %s…%s (%d): could not queue their sends (broker down?); the stalled-notification sweep will",
            notification_ids[0],
            notification_ids[-1],
            len(notification_ids),
        )


def _send_start(notification_id: int) -> None:
    notification_send_task.delay(notification_id)


def notifications_send_start(notification_ids: list[int]) -> None:
    """Queue the send of each (the worker's half of `notifications_queue_new`'s fan-out)."""
    for notification_id in notification_ids:
        notification_send_start_or_leave(notification_id)


def notification_send_start_or_leave(notification_id: int) -> None:
    """Queue the send (after the commit that made the row); should the broker refuse, the
    row stays pending for the sweep."""
    try:
        _send_start(notification_id)
    except Exception:
        # The row is committed `pending`, and a redelivered callback finds it and starts no
        # second send: the sweep is what gets this email out once the broker is back.
        logger.exception(
            "notification %s: could not queue its send (broker down?); the stalled-notification sweep will",
            notification_id,
        )


class NotificationSendFailed(Exception):
    """The email could not be handed to the backend this time (recorded on the row)."""


# How long one send may take: the send task's own time limits (notifications/tasks.py).
# At the soft limit the send is interrupted and recorded as failed (then retried); at the
# hard limit Celery kills the process. A send normally takes a second or two; one ESP call
# or SMTP operation is bounded by ANYMAIL_REQUESTS_TIMEOUT / EMAIL_TIMEOUT (20 s).
SEND_SOFT_TIME_LIMIT = settings.NOTIFICATION_SEND_SOFT_TIME_LIMIT
SEND_TIME_LIMIT = settings.NOTIFICATION_SEND_TIME_LIMIT
# A claim older than this belongs to a sender that died (killed worker, lost connection)
# and may be taken over. It must stay above the longest a live sender can hold one, which
# is the send task's hard time limit (the process is killed then): 55 s, plus 10 s for
# clocks that differ between worker machines. So no live sender's claim is ever taken
# over and no email goes twice, while an email whose sender was killed goes out about a
# minute later (the task's redelivery waits for the claim to age; the sweep, every
# NOTIFICATION_SWEEP_INTERVAL_SECONDS, catches a message the broker kept).
SEND_CLAIM_TIMEOUT = timedelta(seconds=SEND_TIME_LIMIT + 10)

_CLAIMABLE = (NotificationStatus.PENDING, NotificationStatus.FAILED)
# Never sent again (another copy of a sent email is a new row: notification_resend).
_FINAL = (NotificationStatus.SENT, NotificationStatus.OBSOLETE)


def notification_send(*, notification_id: int) -> Notification:
    """Send the email now, unless it was sent or another sender is sending it; record the
    outcome on the row. Returns the row as it is afterwards: `sent`, or `sending` when
    another sender holds it (that sender records the outcome).

    No transaction is open while the message is rendered and handed to the backend (up to
    EMAIL_TIMEOUT): on SQLite a transaction holds the whole database's write lock. Instead
    the row is claimed with one conditional UPDATE (pending/failed → `sending`), so of
    several senders (an acks_late redelivery, the admin's "send now", two workers) exactly
    one sends; then the outcome is written in a second short statement (released). Email stays at least
    once: a sender that dies between the send and that write leaves a claim that is taken
    over after SEND_CLAIM_TIMEOUT, and the email goes again.

    Call it outside any transaction (tasks, admin actions): inside one, the claim would
    stay uncommitted, and on MariaDB row-locked, until that transaction ends.

    An "order expired" email whose order has been paid since (a late payment took its seats
    back) is not sent: it becomes `obsolete`, for good (normally already done by the
    payment, `notifications_make_obsolete`; checked again here under the claim). A
    confirmation whose order's "order expired" email is being sent right now (claimed before
    the payment) is not sent yet: `NotificationDeferred`, and the task tries again later. So
    the buyer holding tickets gets the confirmation last, however retries interleave, and
    no worker sleeps waiting for it.

    Raises `NotificationSendFailed` after recording the attempt (the task retries),
    `NotificationDeferred` (nothing claimed), and `Notification.DoesNotExist` when the row
    is gone.
    """
    if _older_email_in_flight(notification_id):
        raise NotificationDeferred()
    notification, claimed_at = _notification_claim(notification_id)
    if claimed_at is None:
        return notification  # sent already, obsolete, or another sender holds it
    why_obsolete = _notification_obsolete_because(notification)
    if why_obsolete:
        # Checked under our claim, right before the send: the latest moment we can.
        _notification_release(notification_id, claimed_at=claimed_at, status=NotificationStatus.OBSOLETE, last_error="")
        what = _KIND_IN_AUDIT.get(notification.kind, f"{notification.kind} email")
        _notification_audit(notification, source=EventSource.SYSTEM, note=f"{what} not sent: {why_obsolete}")
        logger.info("notification %s (%s) obsolete: %s", notification_id, notification.kind, why_obsolete)
        return Notification.objects.get(pk=notification_id)
    try:
        notification_message(notification).send()
    except Exception as error:
        # Any failure (SMTP, ESP API, a template error, the task's soft time limit) is
        # recorded and retried; the order itself is never touched by a failed email.
        last_error = f"{type(error).__name__}: {error}"[:2000]
        # A pending row waits for the task's next retry. A failed row sent again from the
        # admin stays failed, and so does a copy: the person who asked sees the error and
        # may ask again; no task retries either.
        back_to = (
            NotificationStatus.FAILED
            if notification.status == NotificationStatus.FAILED or notification.resend_of_id
            else NotificationStatus.PENDING
        )
        _notification_release(notification_id, claimed_at=claimed_at, status=back_to, last_error=last_error)
        logger.warning("notification %s (%s) not sent: %s", notification_id, notification.kind, last_error)
        raise NotificationSendFailed(last_error) from error
    sent_at = timezone.now()
    # Not conditional on our claim: the email is out, so `sent` is the truth even if our
    # claim was (wrongly) taken over meanwhile; that other sender then also marks it sent.
    Notification.objects.filter(pk=notification_id).update(
        status=NotificationStatus.SENT, sent_at=sent_at, claimed_at=None, last_error="", updated_at=sent_at
    )
    return Notification.objects.get(pk=notification_id)


class NotificationDeferred(Exception):
    """An older email of the same order is being sent right now; this one waits its turn.
    Nothing was claimed or counted: the task tries again a little later."""


def _older_email_in_flight(notification_id: int) -> bool:
    """A confirmation whose order's "order expired" email is being sent right now.

    Ordering by design: the confirmation is queued in the transaction that pays the order,
    and that transaction makes every unsent "order expired" email of the order obsolete
    (`notifications_make_obsolete`); one claimed later finds the order PAID under its claim
    and becomes obsolete too. So the only expired email that can still go out is one claimed
    before the payment, and it is `sending` now: the confirmation goes after it. A claim
    older than SEND_CLAIM_TIMEOUT belongs to a dead sender and holds nothing up."""
    notification = Notification.objects.filter(pk=notification_id).values("order_id", "kind").first()
    if notification is None or notification["kind"] != NotificationKind.ORDER_CONFIRMATION:
        return False
    return Notification.objects.filter(
        order_id=notification["order_id"],
        kind=NotificationKind.ORDER_EXPIRED,
        status=NotificationStatus.SENDING,
        claimed_at__gte=timezone.now() - SEND_CLAIM_TIMEOUT,
    ).exists()


def notifications_make_obsolete(*, order: Order, source: str) -> int:
    """The order was paid: its unsent "order expired" email (pending or failed) would only
    mislead the buyer, and must not arrive after the confirmation. It becomes `obsolete`,
    for good, with an audit row. Called in the transaction that pays the order, before the
    confirmation is queued. Returns how many rows became obsolete."""
    made = Notification.objects.filter(
        order=order,
        kind=NotificationKind.ORDER_EXPIRED,
        status__in=[NotificationStatus.PENDING, NotificationStatus.FAILED],
    ).update(status=NotificationStatus.OBSOLETE, claimed_at=None, updated_at=timezone.now())
    if made:
        what = _KIND_IN_AUDIT[NotificationKind.ORDER_EXPIRED]
        order_event_record(
            order=order,
            from_status=order.status,
            to_status=order.status,
            source=source,
            note=f"{what} not sent: the order is paid",
        )
    return made


def _notification_obsolete_because(notification: Notification) -> str:
    """Why this email would no longer tell the truth, or "" when it still does."""
    if notification.kind == NotificationKind.PAYMENT_REMINDER:
        # "Pay now" only while there is still something to pay: never after the order was
        # paid, expired or cancelled, nor once its hold has run out.
        order = Order.objects.filter(pk=notification.order_id).values("status", "expires_at").first()
        if order is None or order["status"] != OrderStatus.PENDING:
            return f"the order is {order['status'] if order else 'gone'}"
        if order["expires_at"] <= timezone.now():
            return "the hold has run out"
        return ""
    if notification.kind == NotificationKind.EVENT_MOVED:
        # "Your e-tickets stay valid": not for an order cancelled since (the buyer took the
        # refund, the event was cancelled), which has its own email.
        status = Order.objects.filter(pk=notification.order_id).values_list("status", flat=True).first()
        return "" if status == OrderStatus.PAID else f"the order is {status or 'gone'}"
    if notification.kind != NotificationKind.ORDER_EXPIRED:
        return ""
    # PAID is final (docs/architecture.md, "State machines"): an order paid now stays paid,
    # so this email would only mislead.
    paid = Order.objects.filter(pk=notification.order_id, status=OrderStatus.PAID).exists()
    return "the order is paid" if paid else ""


def _notification_claim(notification_id: int) -> tuple[Notification, datetime | None]:
    """Take the row for sending. Returns (the row as claimed, the claim time), or (the row
    as it is, None) when it is sent, obsolete, or someone else holds a live claim.

    Each UPDATE is its own short transaction (autocommit) and only one of several at once
    can match the status it read, so only one caller sends. The row returned carries the
    status it was claimed from, which decides where a failed send goes back to.
    """
    for _ in range(3):
        notification = Notification.objects.get(pk=notification_id)
        now = timezone.now()
        if notification.status in _FINAL:
            return notification, None
        if notification.status in _CLAIMABLE:
            claimable = Notification.objects.filter(pk=notification_id, status=notification.status)
        elif notification.claimed_at is None or notification.claimed_at < now - SEND_CLAIM_TIMEOUT:
            logger.warning("notification %s: taking over a claim from %s", notification_id, notification.claimed_at)
            claimable = Notification.objects.filter(
                pk=notification_id, status=NotificationStatus.SENDING, claimed_at=notification.claimed_at
            )
        else:
            return notification, None  # another sender is at it right now
        claimed = claimable.update(
            status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
        )
        if claimed:
            notification.attempts += 1
            return notification, now
        # Someone changed the row between our read and our UPDATE: look again.
    return Notification.objects.get(pk=notification_id), None


def _notification_release(notification_id: int, *, claimed_at: datetime | None, status: str, last_error: str) -> None:
    # Only our own claim: if it was taken over, the other sender records its own outcome.
    Notification.objects.filter(pk=notification_id, status=NotificationStatus.SENDING, claimed_at=claimed_at).update(
        status=status, claimed_at=None, last_error=last_error, updated_at=timezone.now()
    )


@transaction.atomic
def notification_mark_failed(*, notification_id: int, error: str = "") -> Notification:
    """Give up on this email (after the last retry): `failed`, shown in the admin, which can
    send it again. A row that was sent meanwhile stays `sent`, and one that another sender
    is sending right now is left to that sender."""
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if notification.status in _FINAL:
        return notification
    if (
        notification.status == NotificationStatus.SENDING
        and notification.claimed_at
        and (notification.claimed_at >= timezone.now() - SEND_CLAIM_TIMEOUT)
    ):
        return notification
    notification.status = NotificationStatus.FAILED
    notification.claimed_at = None
    if error:
        notification.last_error = error[:2000]
    notification.save(update_fields=["status", "claimed_at", "last_error", "updated_at"])
    logger.error(
        "notification %s (%s) failed for good: %s", notification_id, notification.kind, notification.last_error
    )
    return notification


# --- the sweep for sends that were never started -----------------------------------------

# A `pending` row nobody has tried to send this long after it was written (or last queued
# by the sweep) lost its task: the broker refused it after the commit, or a worker that was
# killed held it (a Redis message taken by a dead worker comes back only after the
# visibility timeout, an hour). Above the seconds a queued task normally waits for a
# worker; under a backlog a row may be queued twice, which is harmless (only the sender
# that claims the row sends).
NOTIFICATION_STALL_AFTER = timedelta(seconds=60)


def notifications_requeue_stalled(*, limit: int = 200, now: datetime | None = None) -> int:
    """Queue the send task again for emails whose task was lost; return how many were queued.

    - `pending`, never tried (attempts 0), written more than NOTIFICATION_STALL_AFTER ago;
    - `pending` after a failed try, when its retry is overdue: longer ago than the longest
      retry countdown (NOTIFICATION_RETRY_MAX_DELAY plus its 25 % jitter) plus the stall time
      (the retry itself could not be queued);
    - `sending` with a claim older than SEND_CLAIM_TIMEOUT (its sender died and nothing
      redelivered the message): the task takes the claim over, as it would on redelivery;
      queued again at most once per SEND_CLAIM_TIMEOUT.

    Each row is taken with one conditional UPDATE of `updated_at` before it is queued, so two
    sweeps at once (two beats) queue it once, and a row whose task waits in a long queue is
    queued again only every NOTIFICATION_STALL_AFTER. A task queued twice is harmless anyway:
    only the sender that claims the row sends. At most `limit` rows per run, oldest first.
    Failed rows are not touched: they were given up on, and the admin resends them.
    """
    now = now or timezone.now()
    stalled = now - NOTIFICATION_STALL_AFTER
    retry_overdue = stalled - timedelta(seconds=settings.NOTIFICATION_RETRY_MAX_DELAY * 1.25)
    rows = Notification.objects.filter(
        Q(status=NotificationStatus.PENDING, attempts=0, updated_at__lte=stalled)
        | Q(status=NotificationStatus.PENDING, attempts__gt=0, updated_at__lte=retry_overdue)
        # A claim is written with updated_at: both older than the claim timeout means
        # neither its sender nor an earlier sweep touched it since.
        | Q(
            status=NotificationStatus.SENDING,
            claimed_at__lte=now - SEND_CLAIM_TIMEOUT,
            updated_at__lte=now - SEND_CLAIM_TIMEOUT,
        )
    ).order_by("updated_at", "pk")
    queued = 0
    for notification_id, status, updated_at in rows.values_list("pk", "status", "updated_at")[:limit]:
        taken = Notification.objects.filter(pk=notification_id, status=status, updated_at=updated_at).update(
            updated_at=now
        )
        if not taken:
            continue  # claimed, sent or queued by someone else since we read it
        try:
            _send_start(notification_id)
        except Exception:
            # The broker is down: the rest would fail the same way. The next run tries again.
            logger.exception("notification sweep: could not queue notification %s; stopping", notification_id)
            break
        queued += 1
    if queued:
        logger.warning("notification sweep: queued %d stalled email(s) again", queued)
    return queued


# --- resending on purpose ----------------------------------------------------------------

# How the audit trail names each email.
_KIND_IN_AUDIT = {
    NotificationKind.ORDER_CONFIRMATION: "confirmation email",
    NotificationKind.ORDER_EXPIRED: "order-expired email",
    NotificationKind.PAID_AFTER_EXPIRY: "paid-after-expiry email",
    NotificationKind.PAYMENT_REMINDER: "payment reminder",
    NotificationKind.ORDER_CANCELLED: "order-cancelled email",
    NotificationKind.REFUND_STARTED: "refund-started email",
    NotificationKind.REFUND_DONE: "refund-done email",
    NotificationKind.REFUND_MANUAL: "refund-by-transfer email",
}


class NotificationNotSentYet(Conflict):
    code = "notification_not_sent"
    default_message = "This email has not been sent yet: send it (notification_send) instead of resending it."


class NotificationObsolete(Conflict):
    code = "notification_obsolete"
    default_message = "This email was never sent because it no longer applied (the order was paid meanwhile)."


class NotificationBusy(Conflict):
    code = "notification_busy"
    default_message = "This email is being sent right now, or a copy of it was asked for a moment ago."


def notification_resend(*, notification_id: int, requested_by: str, source: str = EventSource.ADMIN) -> Notification:
    """Send another copy of an email that was already sent, on purpose (the buyer lost it,
    or it went to a mistyped address that has since been corrected).

    The copy is a new row pointing at the original (`resend_of`; a copy of a copy points at
    the same original), addressed to the buyer's current address (corrected with
    `buyer_contact_update`), in the original's language, with the name of who asked. It is
    sent at once through `notification_send`, the one claim, send and release every email
    goes through; the original row is never touched, so the automatic path, which never
    sends a `sent` row, cannot send the original again. An audit row on the order says who
    asked, where the copy went, and whether it failed.

    Call it outside any transaction: no transaction is open while the message goes out.

    Returns the copy, `sent`. Raises `NotificationNotSentYet` when the original was never
    sent (pending or failed: send it instead), `NotificationObsolete` for one that must
    never be sent, `NotificationBusy` while the original or another copy of it is being sent
    (a double click: the second finds the first's copy, or loses the race for its number),
    and `NotificationSendFailed` when the backend refused: the copy is then `failed` with
    the error (no task retries it; sending it again from the admin does).
    """
    notification = Notification.objects.get(pk=notification_id)
    original = notification if notification.resend_of_id is None else notification.resend_of
    if original.status in _CLAIMABLE:
        raise NotificationNotSentYet()
    if original.status == NotificationStatus.OBSOLETE or _notification_obsolete_because(original):
        # An "order expired" email for an order paid since would only mislead the buyer.
        raise NotificationObsolete()
    if original.status == NotificationStatus.SENDING:
        raise NotificationBusy()
    copy = _notification_copy_create(original, requested_by=requested_by)
    what = _KIND_IN_AUDIT.get(copy.kind, f"{copy.kind} email")
    try:
        copy = notification_send(notification_id=copy.pk)
    except NotificationSendFailed as error:
        _notification_audit(
            copy, source=source, note=f"{what} re-send to {copy.to_email} by {requested_by} failed: {error}"
        )
        raise
    except NotificationDeferred:
        # Its order's "order expired" email is going out right now: the copy stays pending,
        # and the stalled-email sweep sends it after that one.
        raise NotificationBusy() from None
    if copy.status == NotificationStatus.OBSOLETE:
        raise NotificationObsolete()  # the order changed between our check and the send
    if copy.status != NotificationStatus.SENT:
        raise NotificationBusy()  # another sender took it over (it sends the copy)
    _notification_audit(copy, source=source, note=f"{what} re-sent to {copy.to_email} by {requested_by}")
    logger.info("notification %s (%s) re-sent by %s as %s", original.pk, copy.kind, requested_by, copy.pk)
    return copy


def _notification_copy_create(original: Notification, *, requested_by: str) -> Notification:
    """Write the next copy of `original`, pending. Refused (`NotificationBusy`) while an
    earlier copy is still on its way, and when another caller wrote the same copy number
    first: two clicks at once make one copy."""
    copies = Notification.objects.filter(resend_of=original)
    if copies.filter(status__in=[NotificationStatus.PENDING, NotificationStatus.SENDING]).exists():
        raise NotificationBusy()
    number = (copies.aggregate(last=Max("copy_number"))["last"] or 0) + 1
    to_email = Buyer.objects.filter(orders=original.order_id).values_list("email", flat=True).first()
    try:
        with transaction.atomic():
            return Notification.objects.create(
                order_id=original.order_id,
                kind=original.kind,
                refund_reference=original.refund_reference,
                to_email=to_email or original.to_email,
                language=original.language,
                resend_of=original,
                copy_number=number,
                requested_by=requested_by,
            )
    except IntegrityError:
        raise NotificationBusy() from None


def _notification_audit(notification: Notification, *, source: str, note: str) -> None:
    order = Order.objects.get(pk=notification.order_id)
    order_event_record(order=order, from_status=order.status, to_status=order.status, source=source, note=note)
