"""The site's own error pages: a buyer who follows a broken link, sends a stale form or meets
a failure sees the site, in their language, with a way on, not Django's bare text."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    return response.content.decode()


def test_an_unknown_address_is_the_sites_404_in_indonesian_then_english(client):
    response = client.get("/acara-yang-tidak-ada/")
    html = _page(response)
    assert response.status_code == 404
    assert 'id="error-page"' in html and "Halaman tidak ditemukan" in html
    assert 'href="/"' in html and 'href="/find-my-tickets/"' in html and 'class="site-header"' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html

    client.get("/language/en/?next=/")
    html = _page(client.get("/acara-yang-tidak-ada/"))
    assert "Page not found" in html and "See the events" in html


def test_an_order_link_with_a_wrong_secret_is_the_same_404(client):
    html = _page(client.get("/orders/TDX-AAAAAAAA/not-the-secret/"))
    assert "Halaman tidak ditemukan" in html


def test_a_form_sent_without_its_csrf_cookie_says_the_page_expired():
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/find-my-tickets/", {"email": "siti@example.com"})
    html = _page(response)
    assert response.status_code == 403
    assert "Halaman ini sudah kedaluwarsa" in html and "belum ada yang dipesan atau dibayar" in html
    assert 'id="error-page"' in html and '<html lang="id">' in html

    browser.get("/language/en/?next=/")
    html = _page(browser.post("/find-my-tickets/", {"email": "siti@example.com"}))
    assert '<html lang="en">' in html and "This page has expired" in html


def test_staff_without_a_permission_see_the_sites_403(client):
    user = get_user_model().objects.create_user("kasir", password="x", is_staff=True)
    client.force_login(user)
    response = client.get("/admin/orders/order/dashboard/")
    assert response.status_code == 403
    assert "Not allowed" in _page(response) and 'id="error-page"' in _page(response)  # the back office is English


@pytest.mark.urls("tedxpay.core.tests.urls")
def test_a_failure_on_a_page_is_the_sites_500_which_needs_nothing_that_could_fail_again():
    browser = Client(raise_request_exception=False)
    response = browser.get("/page/crash")
    html = _page(response)
    assert response.status_code == 500
    assert "Terjadi kesalahan" in html and "pembayaran yang berhasil tidak akan hilang" in html
    assert 'href="/static/css/site.css"' in html or "site.css" in html
