"""Django's page middleware, skipped for the API.

Sessions, the logged-in user and flash messages serve the checkout pages and the admin. An
API request (`/api/…`) uses none of them: API keys authenticate it. Skipping them saves
the work a flash sale would otherwise do thousands of times a second (reading cookies,
setting up lazy objects). The page language is tedxpay/core/language.py's, which answers
an API request in English at once. CSRF stays Django's own, for every path: every API view
is exempt from it anyway.
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

API_PREFIX = "/api/"


def _pages_only(middleware_class):
    class PagesOnly(middleware_class):
        def __call__(self, request):
            if request.path_info.startswith(API_PREFIX):
                return self.get_response(request)
            return super().__call__(request)

    PagesOnly.__name__ = PagesOnly.__qualname__ = middleware_class.__name__
    PagesOnly.__doc__ = f"{middleware_class.__module__}.{middleware_class.__name__}, not for /api/ requests."
    return PagesOnly


SessionMiddleware = _pages_only(DjangoSessionMiddleware)
AuthenticationMiddleware = _pages_only(DjangoAuthenticationMiddleware)
MessageMiddleware = _pages_only(DjangoMessageMiddleware)
