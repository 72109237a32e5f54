"""One language at a time: Indonesian unless the buyer chose English.

Most buyers are Indonesian and many browsers here still announce English, so the page
language is not guessed from Accept-Language: it is Indonesian until the buyer presses the
switch shown on every page (a cookie remembers the choice). The back office and the API
speak English, whatever the cookie says: their own texts are English only, and integrators
read error messages in one language.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

ENGLISH_ONLY_PREFIXES = ("/admin/", "/api/")
PAGE_LANGUAGES = tuple(code for code, _ in settings.LANGUAGES)


def chosen_language(request) -> str:
    """The buyer's language for this request: their choice, else Indonesian."""
    if request.path.startswith(ENGLISH_ONLY_PREFIXES):
        return "en"
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return chosen if chosen in PAGE_LANGUAGES else settings.LANGUAGE_CODE


def remember_language(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=not settings.DEBUG,
        httponly=True,
    )


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            # Errors in English, nothing read from cookies, no Vary: the cheapest path, for
            # a flash sale's thousands of API calls a second.
            translation.activate("en")
            return self.get_response(request)
        language = chosen_language(request)
        # Left active after the response, as Django's LocaleMiddleware does: lazy texts
        # (form errors) may still be rendered on the way out.
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        # The same URL answers in two languages: caches must tell them apart.
        patch_vary_headers(response, ("Cookie",))
        return response


def language_switch(request, language: str):
    """GET /language/<id|en>/?next=/the/page/: remember the choice and go back to the page.

    The checkout page does not link here: its switch resubmits the form to itself so that
    the chosen tickets and typed details stay (orders/views.py)."""
    if language not in PAGE_LANGUAGES:
        language = settings.LANGUAGE_CODE
    target = request.GET.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = "/"
    response = HttpResponseRedirect(target)
    remember_language(response, language)
    return response
