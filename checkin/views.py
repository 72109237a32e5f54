"""The door page for volunteers (/checkin/): scan or type a ticket, see green, red or
amber, search by name, print the list. Members of "Door staff" (the `checkin.use_door`
permission) use it; they are not staff and see no admin page.

The page works without JavaScript (plain form posts); static/js/checkin.js adds the
camera, sounds, and answers without reloading, through the JSON views below.
"""

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from checkin import door
from checkin.errors import TicketNotFound, is_refusal
from checkin.models import CheckIn, CheckInSource
from checkin.roles import DOOR_PERMISSION
from checkin.selectors import (
    attendee_list,
    attendee_search,
    code_clean,
    door_count,
    door_default_event,
    door_events,
    issued_ticket_find,
)
from checkin.services import checkin_admit_ticket, checkin_undo
from orders.models import IssuedTicket
from tedxpay.core.errors import ApplicationError
from tickets.event_time import event_zone
from tickets.models import Event


def door_staff_required(view):
    """Signed in with the door permission; others go to the door's sign-in page, and a
    signed-in user without the permission is refused (403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("door-login"))
        if not request.user.has_perm(DOOR_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class DoorLoginView(auth_views.LoginView):
    template_name = "checkin/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("door")


def _event(request) -> Event:
    slug = request.POST.get("event") or request.GET.get("event")
    if slug:
        event = Event.objects.filter(slug=slug).first()
        if event is None:
            raise Http404("No such event.")
        return event
    event = door_default_event()
    if event is None:
        raise Http404("No event yet.")
    return event


def _scan(request, event: Event) -> door.ScanResult:
    gate = request.POST.get("gate", "")
    try:
        if request.POST.get("ticket"):  # "admit" from the search results
            issued = (
                IssuedTicket.objects.select_related("order__buyer", "ticket")
                .filter(pk=_ticket_id(request.POST["ticket"]))
                .first()
            )
            if issued is None:
                raise TicketNotFound()
        else:
            issued = issued_ticket_find(code_clean(request.POST.get("code", "")))
            if issued is None:
                raise TicketNotFound()
    except ApplicationError as error:
        return door.refused(error, event=event)
    try:
        checkin = checkin_admit_ticket(
            issued=issued, event=event, gate=gate, source=CheckInSource.DOOR, user=request.user
        )
    except ApplicationError as error:
        if not is_refusal(error):
            raise
        return door.refused(error, event=event, issued=issued)
    return door.admitted(checkin)


def _ticket_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise TicketNotFound()
    return int(value)


def _with_count(result: door.ScanResult, event: Event) -> door.ScanResult:
    result.count = door.count_words(door_count(event))
    return result


@door_staff_required
def door_page(request):
    event = _event(request)
    result = None
    if request.method == "POST":
        result = _with_count(_scan(request, event), event)
    query = request.GET.get("q", "")
    context = {
        "event": event,
        "events": door_events(),
        "count": door.count_words(door_count(event)),
        "result": result,
        "gate": request.POST.get("gate", request.GET.get("gate", "")),
        "query": query,
        # Each row with its state in words, as the search's JSON gives it to the script.
        "found": [(row, door.row_status(row, event)) for row in attendee_search(event=event, query=query)]
        if query
        else None,
    }
    return render(request, "checkin/door.html", context)


@require_POST
@door_staff_required
def door_scan(request):
    event = _event(request)
    return JsonResponse(_with_count(_scan(request, event), event).as_json())


@require_POST
@door_staff_required
def door_undo(request):
    event = _event(request)
    checkin_id = request.POST.get("checkin", "")
    if not checkin_id.isdigit() or len(checkin_id) > 18:
        return JsonResponse({"error": "checkin_not_found"}, status=404)
    # The door undoes a wrong scan right after it: this volunteer's own admission at this
    # event, within DOOR_UNDO_MINUTES. Any other (ids are sequential, and undo then admit
    # again lets one ticket in twice) is for the admin, where Finance undoes with a reason.
    undoable = CheckIn.objects.filter(
        pk=int(checkin_id),
        order__event=event,
        checked_in_by=request.user,
        checked_in_at__gte=timezone.now() - timedelta(minutes=settings.DOOR_UNDO_MINUTES),
    )
    if not undoable.exists():
        message = "Only your own check-ins of the last few minutes at this event can be undone here."
        return JsonResponse({"error": "undo_not_allowed", "message": message}, status=409)
    try:
        checkin = checkin_undo(
            checkin_id=int(checkin_id),
            reason=request.POST.get("reason", ""),
            user=request.user,
            source=CheckInSource.DOOR,
        )
    except ApplicationError as error:
        return JsonResponse({"error": error.code, "message": error.message}, status=error.status_code)
    return JsonResponse(_with_count(door.undone(checkin), event).as_json())


@require_GET
@door_staff_required
def door_count_view(request):
    return JsonResponse(door.count_words(door_count(_event(request))))


@require_GET
@door_staff_required
def door_search(request):
    event = _event(request)
    rows = attendee_search(event=event, query=request.GET.get("q", "")[:100])
    return JsonResponse(
        {
            "results": [
                {
                    "ticket": row.ticket_id,
                    "name": row.name,
                    "ticket_name": row.ticket_name,
                    "state": row.state,
                    "status": door.row_status(row, event),
                }
                for row in rows
            ]
        }
    )


@require_GET
@door_staff_required
def door_list(request):
    event = _event(request)
    rows = attendee_list(event=event)
    # The list's times (check-ins, when it was printed) on the event's wall clock.
    with timezone.override(event_zone(event)):
        return render(
            request,
            "checkin/list.html",
            {"event": event, "rows": rows, "count": door.count_words(door_count(event))},
        )
