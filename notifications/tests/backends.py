"""Email backends for tests: an ESP or SMTP server that fails (it cannot fail on demand
here), and one that is slow (to widen a race window). Selected with EMAIL_BACKEND, the way
production picks its real one."""

import smtplib
import threading
import time

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingBackend(BaseEmailBackend):
    """Every send fails like an SMTP server dropping the connection."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("Connection unexpectedly closed")


class FlakyBackend(LocmemBackend):
    """Fails the first `failures_left` sends, then delivers to mail.outbox."""

    failures_left = 0

    def send_messages(self, email_messages):
        if FlakyBackend.failures_left > 0:
            FlakyBackend.failures_left -= 1
            raise smtplib.SMTPServerDisconnected("4.4.2 timeout, try again later")
        return super().send_messages(email_messages)


class SlowBackend(LocmemBackend):
    """Delivers to mail.outbox after a pause, as an ESP's HTTP API takes a moment."""

    def send_messages(self, email_messages):
        time.sleep(0.3)
        return super().send_messages(email_messages)


class DyingBackend(BaseEmailBackend):
    """The worker is killed mid-send (OOM, deploy): nothing after this line runs, so the
    sender never records an outcome. Raised as a BaseException, as a kill is not an error
    the sender could catch and record."""

    class Killed(BaseException):
        pass

    def send_messages(self, email_messages):
        raise DyingBackend.Killed("worker killed mid-send")


class ObservingBackend(LocmemBackend):
    """Delivers to mail.outbox and records, mid-send, what the database looks like: whether
    this connection is inside a transaction, the row's status and claim as another reader
    sees them, and whether another connection can lock the row at once (NOWAIT: on MariaDB
    a row lock held by the sender fails this immediately)."""

    seen: list = []

    def send_messages(self, email_messages):
        from django.db import connection, connections, transaction

        from notifications.models import Notification

        in_transaction = connection.in_atomic_block
        observed = {}

        def look():
            try:
                with transaction.atomic():
                    row = Notification.objects.select_for_update(nowait=True).get(to_email=email_messages[0].to[0])
                observed.update(status=row.status, claimed_at=row.claimed_at, error=None)
            except Exception as error:
                observed.update(status=None, claimed_at=None, error=error)
            finally:
                connections.close_all()

        other = threading.Thread(target=look)
        other.start()
        other.join(30)
        ObservingBackend.seen.append((in_transaction, observed["status"], observed["claimed_at"], observed["error"]))
        return super().send_messages(email_messages)


class HangingBackend(BaseEmailBackend):
    """An ESP that takes the message and never answers: it writes a marker file (the path
    in the TEDXPAY_TEST_HANG_MARKER environment variable) and blocks, so a test can kill
    the worker while it is sending. Nothing is delivered."""

    def send_messages(self, email_messages):
        import os
        from pathlib import Path

        Path(os.environ["TEDXPAY_TEST_HANG_MARKER"]).write_text("sending")
        time.sleep(600)
        return 0
