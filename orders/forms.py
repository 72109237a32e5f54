from django import forms

from orders.buyers import ORDER_LANGUAGE_NAMES


class BuyerForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email")
    phone = forms.CharField(
        label="Mobile number",
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "placeholder": "0812 3456 7890"}),
    )
    language = forms.ChoiceField(
        label="Email language",
        choices=list(ORDER_LANGUAGE_NAMES.items()),
        initial="en",
    )


class QuantitiesForm(forms.Form):
    """One quantity select per phase on sale; the field name carries the ticket id. It offers
    0, then the phase's minimum per order up to its maximum (or, for phases a voucher frees
    from that maximum, up to `most_overrides[ticket_id]`) and what is left."""

    def __init__(self, *args, tickets, most_overrides: dict[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tickets_by_id = {ticket.pk: ticket for ticket in tickets}
        self.tickets_by_field = {self.field_name(ticket): ticket for ticket in tickets}
        for ticket in tickets:
            most = min((most_overrides or {}).get(ticket.pk, ticket.max_per_order), ticket.available)
            self.fields[self.field_name(ticket)] = forms.TypedChoiceField(
                label=ticket.name,
                choices=[(0, 0)] + [(n, n) for n in range(ticket.min_per_order, most + 1)],
                coerce=int,
                initial=0,
                required=False,
                empty_value=0,
            )

    @staticmethod
    def field_name(ticket) -> str:
        return f"quantity_{ticket.pk}"

    def quantities(self) -> dict[int, int]:
        return {
            int(name.removeprefix("quantity_")): quantity for name, quantity in self.cleaned_data.items() if quantity
        }


def attendee_field_name(ticket, seat: int) -> str:
    """The checkout's name input for seat `seat` (1-based) of `ticket`, for an event that asks
    each attendee's name."""
    return f"attendee_{ticket.pk}_{seat}"


def attendee_names_from(data, ticket, quantity: int) -> tuple[str, ...]:
    """The names typed for the first `quantity` seats of `ticket` (blank ones included: the
    placement says which are missing)."""
    return tuple(data.get(attendee_field_name(ticket, seat), "") for seat in range(1, quantity + 1))
