import math

import pytest

from orders.ticket_codes import (
    CROCKFORD_ALPHABET,
    is_ticket_secret,
    new_short_code,
    new_ticket_secret,
    short_code_display,
    short_code_normalize,
)


def test_the_qr_secret_has_at_least_128_random_bits():
    secrets = {new_ticket_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    secret = secrets.pop()
    # 24 URL-safe base64 characters carry 6 bits each.
    assert len(secret) == 24 and len(secret) * 6 >= 128
    assert is_ticket_secret(secret)


def test_short_codes_are_ten_crockford_symbols_shown_in_groups():
    code = new_short_code()
    assert len(code) == 10 and set(code) <= set(CROCKFORD_ALPHABET)
    assert not set(code) & set("ILOU")
    assert len(CROCKFORD_ALPHABET) == 32 and math.log2(32) * 10 == 50
    assert short_code_display("K7Q2M9XD4F") == "K7Q2-M9XD-4F"


@pytest.mark.parametrize(
    "typed",
    ["K7Q2-M9XD-4F", "k7q2m9xd4f", " k7q2 m9xd 4f ", "K7Q2_M9XD.4F", "k7q2-m9xd-4f"],
)
def test_a_short_code_is_read_whatever_the_case_and_separators(typed):
    assert short_code_normalize(typed) == "K7Q2M9XD4F"


def test_letters_that_look_like_digits_read_as_those_digits():
    assert short_code_normalize("ko1l-oooo-ii") == "K0110000" + "11"


@pytest.mark.parametrize(
    "typed", ["", "K7Q2-M9XD", "K7Q2-M9XD-4F5", "K7Q2-M9XD-4U", "ＫＱ２２ＭＭＸＤ４Ｆ", "K7Q2-M9XD-4F🙂", "%%%%%%%%%%"]
)
def test_what_cannot_be_a_short_code_is_refused(typed):
    assert short_code_normalize(typed) is None
