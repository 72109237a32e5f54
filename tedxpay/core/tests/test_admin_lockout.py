"""Admin login: locked after repeated failures per username and per address; a superuser
lifts the lock."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-correct-password-42"


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("finance", password=PASSWORD, is_staff=True)


def _login(client, username: str, password: str, address: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_right_password_is_refused_after_repeated_failures(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "finance", "guess", "198.51.100.7").status_code == 200  # the form again
    assert _login(client, "finance", "guess", "198.51.100.7").status_code == 429  # the last try locks
    response = _login(client, "finance", PASSWORD, "198.51.100.7")
    assert not _logged_in(response)
    assert response.status_code == 429
    # The username is locked from any address too: a botnet gets the same few guesses.
    assert not _logged_in(_login(client, "finance", PASSWORD, "203.0.113.50"))


def test_an_address_is_locked_across_usernames(client, staff, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"someone{attempt}", "guess", "198.51.100.8")
    assert not _logged_in(_login(client, "finance", PASSWORD, "198.51.100.8"))
    # Another address and the username's own record are fine.
    assert _logged_in(_login(client, "finance", PASSWORD, "203.0.113.51"))


def test_made_up_forwarded_for_does_not_escape_the_lock(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/admin/login/",
            {"username": f"x{attempt}", "password": "guess"},
            REMOTE_ADDR="198.51.100.9",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        )
    assert AccessAttempt.objects.filter(ip_address="198.51.100.9").exists()
    assert not _logged_in(_login(client, "finance", PASSWORD, "198.51.100.9"))


def test_a_superuser_lifts_the_lock_in_the_admin(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "finance", "guess", "198.51.100.10")
    assert not _logged_in(_login(client, "finance", PASSWORD, "198.51.100.10"))

    superuser = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.force_login(superuser)
    attempts = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
        REMOTE_ADDR="203.0.113.52",
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert _logged_in(_login(client, "finance", PASSWORD, "198.51.100.10"))


def test_staff_who_are_not_superusers_cannot_lift_locks(client, staff):
    client.force_login(staff)
    assert client.get("/admin/axes/accessattempt/").status_code == 403
