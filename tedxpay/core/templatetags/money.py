from django import template

from tedxpay.core.money import format_rupiah

register = template.Library()


@register.filter
def rupiah(amount) -> str:
    """`{{ order.total|rupiah }}`: "Rp 1.250.000"; nothing for no amount."""
    if amount is None or amount == "":
        return ""
    return format_rupiah(amount)
