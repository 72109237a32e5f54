"""The broker of `make run`: kombu's filesystem transport, each message written whole
before it can be seen.

kombu's own `_put` creates `<time>_<uuid>.<queue>.msg`, then locks and writes it, and its
`_get` takes any `*.<queue>.msg` without looking at the lock. A worker that polls in
between (every 0.1 s; beat publishes several tasks in the same instant) reads an empty
file: `JSONDecodeError` in the worker's consumer, which Celery treats as unrecoverable, and
the worker stops. Emails, expiry and the sweeps then stop too, silently. Here the message
is written under a name no reader matches (`….msg.part`) and renamed into place, which is
atomic within one folder: a reader finds nothing, or all of it.

`tedxpay/celery.py` puts this transport behind the `filesystem://` scheme.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's name: the reader takes messages in the order their names sort.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"
        body = str_to_bytes(dumps(payload))
        try:
            with open(partial, "wb") as file:
                file.write(body)
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
