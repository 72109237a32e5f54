from django import template

register = template.Library()


def format_rupiah(amount: int) -> str:
    """Rupiah as Indonesians write it: "Rp 1.250.000" (dots group thousands; no decimals,
    IDR has no minor unit)."""
    return "Rp " + f"{int(amount):,}".replace(",", ".")


@register.filter
def rupiah(amount) -> str:
    if amount is None or amount == "":
        return ""
    return format_rupiah(amount)
