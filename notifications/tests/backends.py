"""Email backends for tests: an ESP or SMTP server that fails (it cannot fail on demand
here), and one that is slow (to widen a race window). Selected with EMAIL_BACKEND, the way
production picks its real one."""

import smtplib
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
