"""`make run`'s broker (tedxpay/core/celery_filesystem.py): a worker polling while a message
is being written finds nothing or all of it, never an empty file (which stopped the worker
with an unrecoverable JSONDecodeError in a `make run` of a few minutes)."""

from queue import Empty

import pytest
from kombu import Connection
from kombu.utils import json as kombu_json

import tedxpay.celery  # noqa: F401 (puts our transport behind filesystem://)
from tedxpay.core.celery_filesystem import Transport


class PollsWhileEncoded:
    """A value whose encoding is the moment the message is being written: the worker polls
    the queue then, as it does every 0.1 s."""

    def __init__(self, poll):
        self.poll = poll


def _encode(value: PollsWhileEncoded) -> str:
    value.poll()
    return "polled"


kombu_json.register_type(PollsWhileEncoded, "polls-while-encoded", _encode)


@pytest.fixture
def connection(tmp_path):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path), "control_folder": str(tmp_path)}
    with Connection("filesystem://localhost/", transport_options=options) as connection:
        yield connection


def test_filesystem_urls_use_the_whole_message_transport(connection):
    assert isinstance(connection.transport, Transport)


def test_a_message_being_written_is_not_read_half_written(connection):
    writer, reader = connection.channel(), connection.clone().channel()
    seen = []

    def poll():
        try:
            seen.append(reader._get("celery"))
        except Empty:
            seen.append("nothing yet")
        # An empty or partial file fails here, as it failed in the worker.

    writer._put("celery", {"task": "send", "args": [PollsWhileEncoded(poll)]})

    assert seen == ["nothing yet"]
    assert reader._get("celery") == {"task": "send", "args": ["polled"]}
    with pytest.raises(Empty):
        reader._get("celery")
