"""HTTPS redirect, HSTS, the proxy header and the Content-Security-Policy."""

import pytest

pytestmark = pytest.mark.django_db


def test_plain_http_is_redirected_and_a_client_cannot_claim_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_a_configured_proxy_header_is_believed(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_hsts_on_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("path", ["/", "/admin/login/", "/api/docs/", "/api/tickets"])
def test_content_security_policy_allows_no_inline_script(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";") if directive
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"


def test_api_docs_page_has_no_inline_script_and_no_cdn(client):
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html
    assert "cdn" not in html.lower()
