"""An attendee's name corrected by finance, on the e-ticket's admin page (the buyer does it
from the order page): the same rule and service (orders/attendees.py), with finance's name
in the audit row. Needs the operational permission on orders, as correcting the buyer's
contact does."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.attendees import REFUSALS, attendee_rename, attendee_rename_refusal
from orders.models import EventSource, IssuedTicket
from tedxpay.core.errors import Conflict, InvalidInput

RENAME_PERMISSION = "orders.operate_order"


class AttendeeNameForm(forms.Form):
    # Plain text: the service keeps the name as checkout does and words the errors.
    name = forms.CharField(label="Attendee's name", max_length=1000)


def attendee_name_view(model_admin, request, object_id: str):
    if not request.user.has_perm(RENAME_PERMISSION):
        raise PermissionDenied
    issued = (
        IssuedTicket.objects.select_related("order__event", "order__buyer", "ticket").filter(pk=object_id).first()
        if object_id.isdigit()
        else None
    )
    if issued is None:
        raise Http404("No such e-ticket.")
    form = AttendeeNameForm(request.POST if request.method == "POST" else None, initial={"name": issued.attendee_name})
    if form.is_valid():
        try:
            attendee_rename(
                order_id=issued.order_id,
                ticket_code=issued.code,
                name=form.cleaned_data["name"],
                source=EventSource.ADMIN,
                requested_by=request.user.get_username(),
            )
        except InvalidInput as error:
            form.add_error("name", error.details["name"])
        except Conflict as error:
            form.add_error(None, error.message)
        else:
            issued.refresh_from_db()
            model_admin.message_user(
                request, f"{issued.short_code_display}: the attendee is now {issued.attendee_name}.", messages.SUCCESS
            )
            return HttpResponseRedirect(reverse("admin:orders_issuedticket_change", args=[issued.pk]))
    refusal = attendee_rename_refusal(issued)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Attendee's name — {issued.short_code_display}",
        "opts": model_admin.opts,
        "issued": issued,
        "refusal": REFUSALS.get(refusal, ""),
        "form": form,
    }
    return TemplateResponse(request, "admin/orders/issuedticket/attendee_name.html", context)
