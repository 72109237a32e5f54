"""E-ticket QR codes (segno). The QR encodes only the IssuedTicket's unguessable code: the
door scanner looks it up; nothing personal is in the image."""

import io
from html import escape

import segno


def qr_png(data: str, *, scale: int = 6) -> bytes:
    """PNG bytes: what email clients show reliably (inline, by Content-ID)."""
    buffer = io.BytesIO()
    # Error level M survives a cracked phone screen; a quiet zone of 4 is what scanners expect.
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(data: str, *, label: str, scale: int = 4) -> str:
    """Inline SVG markup for web pages (no <?xml?> declaration, no fixed namespace prefix),
    an image with `label` as its text alternative for screen readers."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(
        buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, nl=False
    )
    return buffer.getvalue().decode().replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
