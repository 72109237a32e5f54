"""The back-office page where finance issues complimentary tickets (orders/comps.py)."""

import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.checkout.comps import MAX_COMPS_PER_BATCH, comp_recipients_parse, comps_issue
from tedxpay.core.errors import ApplicationError
from tedxpay.core.idempotency import (
    COMPS_FORM_SCOPE,
    IdempotencyConflict,
    IdempotencyInFlight,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from tickets.models import Ticket

# A CSV of a few hundred names is a few kilobytes; anything far larger is the wrong file.
MAX_CSV_BYTES = 256 * 1024
_TOKEN_SIGNER = signing.TimestampSigner(salt="tedxpay.comps-token")


class CompIssueForm(forms.Form):
    ticket = forms.ModelChoiceField(
        queryset=Ticket.objects.select_related("event").order_by("event__starts_at", "event", "sort_order", "pk"),
        label="Phase",
        help_text="The seats come out of this phase's quota (its sale window does not matter).",
    )
    recipients = forms.CharField(
        label="Names and emails",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70, "placeholder": "Ni Luh Putu Ayu, ayu@example.com"}),
        help_text="One person a line: name, email (or name; email, or Name <email>). Each gets one ticket.",
    )
    csv_file = forms.FileField(
        label="…or a CSV file", required=False, help_text="Columns name and email, with or without a header line."
    )
    language = forms.ChoiceField(choices=[("id", "Bahasa Indonesia"), ("en", "English")], label="Email language")
    note = forms.CharField(
        max_length=200, required=False, help_text="Why, for the audit trail, e.g. “Speakers and their partners”."
    )
    # One batch per rendering of the form, however often it is sent (a double click, a
    # reload, a second tab): a signed one-time token, as the checkout's.
    token = forms.CharField(widget=forms.HiddenInput)

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if upload is None:
            return ""
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError("This file is too large for a list of names.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the file as CSV UTF-8 and upload it again.") from None

    def clean(self):
        cleaned = super().clean()
        people = []
        sources = [("recipients", cleaned.get("recipients", "")), ("csv_file", cleaned.get("csv_file", ""))]
        for field, text in sources:
            if not text.strip():
                continue
            try:
                people += comp_recipients_parse(text)  # each on its own: a file has its own header
            except ApplicationError as error:
                for line in error.details.get("recipients", [error.message]):
                    self.add_error(field, line)
        if not people and not self.has_error("recipients") and not self.has_error("csv_file"):
            self.add_error("recipients", "Enter at least one name and email, or upload a CSV file.")
        if len(people) > MAX_COMPS_PER_BATCH:
            self.add_error("recipients", f"At most {MAX_COMPS_PER_BATCH} people at once; split the list.")
        cleaned["people"] = people
        return cleaned


def comps_issue_view(model_admin, request):
    if not model_admin.has_comps_permission(request):
        raise PermissionDenied
    form = CompIssueForm(request.POST or None, request.FILES or None, initial={"token": _token_issue()})
    if request.method == "POST" and form.is_valid():
        done = _comps_issue_once(model_admin, request, form)
        if done is not None:
            return done
        # Shown again after a refusal: a new token, so sending it again is a new batch.
        form.data = form.data.copy()
        form.data["token"] = _token_issue()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Issue complimentary tickets",
        "opts": model_admin.opts,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/issue_comps.html", context)


def _comps_issue_once(model_admin, request, form: CompIssueForm) -> HttpResponseRedirect | None:
    """Issue the batch unless this rendering of the form was sent before: then say what
    became of the first. None: refused, the form carries why."""
    data = form.cleaned_data
    key = _token_key(data["token"])
    if key is None:
        form.add_error(None, "This form is out of date. Check it and send it again.")
        return None
    people = [[person.full_name, person.email] for person in data["people"]]
    fingerprint = request_fingerprint(
        method="POST",
        path=request.path,
        data={"ticket": data["ticket"].pk, "people": people, "language": data["language"], "note": data["note"]},
    )
    done_list = HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?is_comp__exact=1")
    try:
        record, owned = idempotency_claim(scope=COMPS_FORM_SCOPE, key=key, fingerprint=fingerprint)
    except IdempotencyInFlight:
        model_admin.message_user(
            request, "This form is being sent already: its tickets are being issued.", messages.WARNING
        )
        return done_list
    except IdempotencyConflict:
        form.add_error(None, "This form was already sent with other choices. Check it and send it again.")
        return None
    if not owned:
        issued = len((record.response_body or {}).get("orders", []))
        model_admin.message_user(
            request, f"This form was sent before: its {issued} ticket(s) were issued then, none now.", messages.INFO
        )
        return done_list
    try:
        orders = comps_issue(
            ticket_id=data["ticket"].pk,
            recipients=data["people"],
            issued_by=request.user.get_username(),
            language=data["language"],
            note=data["note"],
        )
    except ApplicationError as error:
        idempotency_release(record=record)
        form.add_error(None, error.message)
        return None
    except BaseException:
        idempotency_release(record=record)
        raise
    idempotency_complete(record=record, status=201, body={"orders": [order.code for order in orders]})
    model_admin.message_user(
        request,
        f"Issued {len(orders)} complimentary ticket(s) of {data['ticket'].name}; "
        "the confirmation emails are on their way.",
        messages.SUCCESS,
    )
    return done_list


def _token_issue() -> str:
    return _TOKEN_SIGNER.sign(secrets.token_urlsafe(24))


def _token_key(token: str) -> str | None:
    try:
        return _TOKEN_SIGNER.unsign(token, max_age=settings.IDEMPOTENCY_KEY_TTL.total_seconds())
    except signing.BadSignature:
        return None
