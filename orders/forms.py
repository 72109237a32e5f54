"""The checkout form: the buyer's details and one quantity per phase on sale.

Both parts are validated together, with the same rules `order_place` applies (so the
buyer sees every problem in one round, not one more after each submission).
"""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders.buyers import ATTENDEE_NAME_MAX_LENGTH, email_normalise, person_name_text, phone_normalise


class BuyerForm(forms.Form):
    full_name = forms.CharField(
        label=gettext_lazy("Full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.CharField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "placeholder": "0812 3456 7890"}
        ),
    )

    def clean_email(self) -> str:
        try:
            return email_normalise(self.cleaned_data["email"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean_phone(self) -> str:
        try:
            return phone_normalise(self.cleaned_data["phone"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class QuantityField(forms.TypedChoiceField):
    """Offers 0, then the phase's minimum per order up to what is left (at most `most`), but
    accepts up to `most`: a choice that was offered a minute ago and is no longer there is
    the stock dropping meanwhile, which the form answers in words (QuantitiesForm.clean)."""

    def __init__(self, *, ticket, most: int, **kwargs):
        self.ticket = ticket
        self.most = most  # the phase's max_per_order, or what a voucher lifts it to
        super().__init__(choices=self.offered(ticket.available), coerce=int, **kwargs)

    def offered(self, available: int) -> list[tuple[int, int]]:
        """0, then the phase's minimum per order up to the most one order may hold and what is left."""
        return [(0, 0)] + [(n, n) for n in range(self.ticket.min_per_order, min(self.most, available) + 1)]

    def valid_value(self, value) -> bool:
        try:
            quantity = int(value)
        except (TypeError, ValueError):
            return False
        return quantity == 0 or self.ticket.min_per_order <= quantity <= self.most


class QuantitiesForm(forms.Form):
    """One quantity select per phase on sale; the field name carries the ticket id. It offers
    0, then the phase's minimum per order up to its maximum (or, for phases a voucher frees
    from that maximum, up to `most_overrides[ticket_id]`) and what is left."""

    def __init__(self, *args, tickets, most_overrides: dict[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = self.data.copy()  # a stock drop changes the selection shown
        self.tickets_by_id = {ticket.pk: ticket for ticket in tickets}
        self.tickets_by_field = {self.field_name(ticket): ticket for ticket in tickets}
        for ticket in tickets:
            self.fields[self.field_name(ticket)] = QuantityField(
                ticket=ticket,
                most=(most_overrides or {}).get(ticket.pk, ticket.max_per_order),
                label=_("Number of %(ticket)s tickets") % {"ticket": ticket.name},
                initial=0,
                required=False,
                empty_value=0,
                # The checkout script adds up the total from these (static/js/checkout.js).
                widget=forms.Select(attrs={"data-price": ticket.price, "class": "quantity"}),
            )

    @staticmethod
    def field_name(ticket) -> str:
        return f"quantity_{ticket.pk}"

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            chosen = cleaned.get(name) or 0
            if chosen > field.ticket.available:
                self.stock_dropped(field.ticket, available=field.ticket.available)
        if not self.errors and not any(cleaned.get(name) for name in self.fields):
            raise forms.ValidationError(_("Choose at least one ticket."), code="nothing_chosen")
        return cleaned

    def stock_dropped(self, ticket, *, available: int) -> None:
        """Fewer seats are left than chosen: say so, and choose what is left instead."""
        name = self.field_name(ticket)
        # Fewer left than the phase's minimum per order is as good as none for this order.
        available = available if available >= ticket.min_per_order else 0
        if available == 0:
            message = _("%(ticket)s just sold out; we removed it from your selection.") % {"ticket": ticket.name}
        else:
            message = ngettext(
                "Only %(count)d %(ticket)s ticket is left; we changed your selection to %(count)d.",
                "Only %(count)d %(ticket)s tickets are left; we changed your selection to %(count)d.",
                available,
            ) % {"count": available, "ticket": ticket.name}
        self.data[name] = str(available)
        if name in self.fields:
            self.fields[name].choices = self.fields[name].offered(available)
            self.add_error(name, message)
        else:
            self.add_error(None, message)

    def quantities(self) -> dict[int, int]:
        return {
            int(name.removeprefix("quantity_")): quantity for name, quantity in self.cleaned_data.items() if quantity
        }


def attendee_field_name(ticket, seat: int) -> str:
    """The checkout's name input for seat `seat` (1-based) of `ticket`, for an event that asks
    each attendee's name."""
    return f"attendee_{ticket.pk}_{seat}"


class AttendeesForm(forms.Form):
    """For an event that asks each attendee's name: one name input per seat that can be
    chosen in each phase (static/js/checkout-attendees.js shows as many as are chosen). The
    names of the seats chosen are required, each checked on its own input with the rules
    `order_place` applies, in the same round as the rest of the form."""

    def __init__(self, *args, quantities_form: QuantitiesForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantities_form = quantities_form
        for field in quantities_form.fields.values():
            ticket = field.ticket
            if not ticket.event.ask_attendee_names:
                continue
            for seat in range(1, max(quantity for quantity, _label in field.choices) + 1):
                self.fields[attendee_field_name(ticket, seat)] = forms.CharField(
                    label=_("Attendee %(seat)d (%(ticket)s)") % {"seat": seat, "ticket": ticket.name},
                    required=False,
                    max_length=ATTENDEE_NAME_MAX_LENGTH,
                )

    def clean(self):
        cleaned = super().clean()
        self.quantities_form.is_valid()  # its cleaned_data: the quantities that were readable
        for name, quantity in self.quantities_form.cleaned_data.items():
            ticket = self.quantities_form.fields[name].ticket
            for seat in range(1, (quantity or 0) + 1):
                field_name = attendee_field_name(ticket, seat)
                if field_name not in self.fields or field_name not in cleaned:
                    continue  # not offered (a voucher's seats), or already refused (too long)
                try:
                    cleaned[field_name] = person_name_text(cleaned[field_name])
                except ValueError as error:
                    self.add_error(field_name, str(error))
                    continue
                if not cleaned[field_name]:
                    self.add_error(field_name, self.fields[field_name].error_messages["required"])
        return cleaned

    def names(self, ticket, quantity: int) -> tuple[str, ...]:
        """The names of the first `quantity` seats of `ticket`, as cleaned (none for an event
        that does not ask them)."""
        if attendee_field_name(ticket, 1) not in self.fields:
            return ()
        return tuple(self.cleaned_data.get(attendee_field_name(ticket, seat), "") for seat in range(1, quantity + 1))

    def inputs(self, quantity_field) -> list[dict]:
        """The name inputs of a phase's quantity select, for the page: as typed, with errors."""
        ticket = quantity_field.ticket
        inputs = []
        for seat in range(1, max(quantity for quantity, _label in quantity_field.choices) + 1):
            name = attendee_field_name(ticket, seat)
            if name in self.fields:
                inputs.append(
                    {"name": name, "seat": seat, "value": self[name].value() or "", "errors": self[name].errors}
                )
        return inputs
