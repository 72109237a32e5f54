"""The hosted invoice page (`invoice_url`): pick a channel and pay, or let it expire.

A stand-in for Xendit's checkout page, for people and browser tests. Like Xendit, paying
or expiring sends the callback and then redirects to the invoice's success / failure URL.
"""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from payments.gateways.simulator import callbacks, channels, services
from payments.gateways.simulator.guards import refuse_live_key
from payments.gateways.simulator.models import SimulatedInvoiceStatus
from payments.gateways.simulator.validation import XenditError

# Xendit shows its page in the invoice's `locale` (id or en); so does this stand-in.
_TEXTS = {
    "en": {
        "banner": "Xendit simulator — test mode, no real money moves",
        "invoice": "Invoice",
        "expires": "expires",
        "total": "Total",
        "pay": "Pay",
        "expire": "Let it expire",
        "expired": "This invoice has expired.",
        "paid": "Paid {amount} with {channel}. Thank you!",
        "groups": ("Virtual account", "E-wallet", "QR code", "Retail outlet", "Card"),
    },
    "id": {
        "banner": "Simulator Xendit — mode uji, tidak ada uang sungguhan",
        "invoice": "Tagihan",
        "expires": "berlaku sampai",
        "total": "Total",
        "pay": "Bayar",
        "expire": "Biarkan kedaluwarsa",
        "expired": "Tagihan ini sudah kedaluwarsa.",
        "paid": "{amount} dibayar dengan {channel}. Terima kasih!",
        "groups": ("Virtual account", "E-wallet", "Kode QR", "Gerai retail", "Kartu"),
    },
}


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")  # Indonesian grouping: Rp 300.000


# No CSRF token: this page stands in for Xendit's own site, which the simulator's callers
# reach from another origin (the standalone command runs on its own port). Nothing real
# can be paid here.
@csrf_exempt
@refuse_live_key
def invoice_page(request, invoice_id: str):
    try:
        invoice = services.invoice_get(invoice_id)
    except XenditError as exc:
        raise Http404("Unknown invoice") from exc
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "pay":
                services.invoice_pay(invoice_id, channel=request.POST.get("channel", ""))
                callbacks.deliver(invoice_id)
                invoice = services.invoice_get(invoice_id)
                if invoice.success_redirect_url:
                    return HttpResponseRedirect(invoice.success_redirect_url)
            elif action == "expire":
                invoice, changed = services.invoice_expire(invoice_id)
                if changed:
                    callbacks.deliver(invoice_id)
                if invoice.failure_redirect_url:
                    return HttpResponseRedirect(invoice.failure_redirect_url)
            else:
                error = "Choose Pay or Let it expire."
        except XenditError as exc:
            error = exc.message
        invoice = services.invoice_get(invoice_id)
    fitting = channels.channels_for(invoice.amount)
    language = invoice.locale if invoice.locale in _TEXTS else "en"
    texts = _TEXTS[language]
    context = {
        "language": language,
        "texts": texts,
        "invoice": invoice,
        "amount": _rupiah(invoice.amount),
        "items": [
            {
                **item,
                "price_display": _rupiah(int(item["price"])),
                "total_display": _rupiah(int(item["price"]) * int(item["quantity"])),
            }
            for item in invoice.items
        ],
        "groups": [
            (title, [c for c in fitting if c.payment_method == family])
            for title, family in zip(
                texts["groups"],
                [
                    channels.VIRTUAL_ACCOUNT,
                    channels.EWALLET,
                    channels.QR_CODE,
                    channels.RETAIL_OUTLET,
                    channels.CREDIT_CARD,
                ],
                strict=True,
            )
        ],
        "paid_text": texts["paid"].format(
            amount=_rupiah(invoice.paid_amount or 0),
            channel=getattr(channels.CHANNELS.get(invoice.payment_channel), "label", invoice.payment_channel),
        )
        if invoice.paid_amount
        else "",
        "is_pending": invoice.status == SimulatedInvoiceStatus.PENDING,
        "paid_amount": _rupiah(invoice.paid_amount) if invoice.paid_amount else "",
        "error": error,
    }
    return render(request, "xendit_simulator/invoice_page.html", context, status=400 if error else 200)
