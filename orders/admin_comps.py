"""The back-office page where finance issues complimentary tickets (orders/comps.py)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.checkout.comps import MAX_COMPS_PER_BATCH, comp_recipients_parse, comps_issue
from tedxpay.core.errors import ApplicationError
from tickets.models import Ticket

# A CSV of a few hundred names is a few kilobytes; anything far larger is the wrong file.
MAX_CSV_BYTES = 256 * 1024


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
    form = CompIssueForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            orders = comps_issue(
                ticket_id=data["ticket"].pk,
                recipients=data["people"],
                issued_by=request.user.get_username(),
                language=data["language"],
                note=data["note"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            model_admin.message_user(
                request,
                f"Issued {len(orders)} complimentary ticket(s) of {data['ticket'].name}; "
                "the confirmation emails are on their way.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?is_comp__exact=1")
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Issue complimentary tickets",
        "opts": model_admin.opts,
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/order/issue_comps.html", context)
