"""Rupiah as Indonesians write it, the one way every page, email, PDF, audit note and
message states an amount: "Rp 1.250.000" (dots group thousands; no decimals, IDR has no
minor unit). Amounts are whole rupiah everywhere (integers); only their display is here."""


def format_rupiah(amount: int) -> str:
    amount = int(amount)
    if amount < 0:
        return "-" + format_rupiah(-amount)
    return "Rp " + format_thousands(amount)


def format_thousands(number: int) -> str:
    """A whole number with dots grouping thousands, as Indonesians write it: "1.000.000"."""
    return f"{int(number):,}".replace(",", ".")
