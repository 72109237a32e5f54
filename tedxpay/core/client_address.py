"""The one place that decides which address a request comes from.

Every throttle, hoarding cap and the admin login lockout count per client address, so the
address must be one a client cannot choose. `X-Forwarded-For` is a list a client can start
with anything it likes; each proxy in front of us appends the address it received the
request from. With TRUSTED_PROXY_COUNT proxies that we run (a load balancer, an ingress),
the client is the entry that the outermost of them appended: the N-th from the right.
With no trusted proxy (the default) the header is ignored and the socket's peer counts.
"""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    """The client's IP address as text (request is a Django HttpRequest or a DRF Request)."""
    meta = request.META
    peer = meta.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return peer
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return peer
    # Fewer entries than proxies: the request skipped one of them; the leftmost entry was
    # still written by a proxy of ours, not by the client.
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
