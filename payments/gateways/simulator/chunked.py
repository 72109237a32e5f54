"""The standalone simulator's HTTP server, reading chunked request bodies.

Django's development server (which the standalone simulator uses) hands the application a
stream limited to `Content-Length` bytes, so a chunked body (`Transfer-Encoding: chunked`,
no `Content-Length`: a client that streams its body) arrived empty, and a pay call made
that way paid through the default channel. This request handler reads a chunked body whole
first and hands it on with its length. (gunicorn de-chunks by itself.)
"""

import io
import socketserver

from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

MAX_BODY_BYTES = 10 * 1024 * 1024


class ChunkedBodyError(ValueError):
    pass


def read_chunked(stream) -> bytes:
    body = bytearray()
    while True:
        size_line = stream.readline(1024)
        if not size_line:
            raise ChunkedBodyError("chunked body ended before its last chunk")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise ChunkedBodyError(f"bad chunk size line {size_line!r}") from exc
        if size == 0:
            # Trailer headers, if any, end with an empty line.
            while stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise ChunkedBodyError("chunked body too large")
        body += stream.read(size)
        stream.readline(1024)  # the CRLF after each chunk


class DechunkingRequestHandler(WSGIRequestHandler):
    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        if chunked and self.headers.get("Content-Length") is None:
            try:
                body = read_chunked(self.rfile)
            except ChunkedBodyError as error:
                self.send_error(400, str(error))
                return False
            del self.headers["Transfer-Encoding"]
            self.headers["Content-Length"] = str(len(body))
            # The body is read; the application reads it from here. One request on this
            # connection, to keep the stream simple.
            self.rfile = io.BytesIO(body)
            self.close_connection = True
        return True


def serve(host: str, port: int, application) -> None:
    """`django.core.servers.basehttp.run(..., threading=True)` with the handler above."""
    server_class = type("ThreadedWSGIServer", (socketserver.ThreadingMixIn, WSGIServer), {})
    httpd = server_class((host, port), DechunkingRequestHandler)
    httpd.daemon_threads = True
    httpd.set_app(application)
    httpd.serve_forever()
