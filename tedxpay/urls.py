from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orders import order_pages
from orders import views as order_views
from tedxpay.core import views as core_views
from tedxpay.core.language import language_switch
from tickets import views as ticket_views

urlpatterns = [
    path("", ticket_views.home, name="home"),
    path("events/<slug:slug>/", order_views.event_checkout, name="event-checkout"),
    path("events/<slug:slug>/placing/<str:token>/", order_views.checkout_placing, name="checkout-placing"),
    path("orders/<str:code>/", order_pages.order_lookup, name="order-lookup"),
    path("orders/<str:code>/<str:secret>/", order_pages.order_detail, name="order-detail"),
    path(
        "orders/<str:code>/<str:secret>/e-tickets.pdf", order_pages.order_tickets_pdf_download, name="order-tickets-pdf"
    ),
    path("orders/<str:code>/<str:secret>/event.ics", order_pages.order_calendar, name="order-calendar"),
    path(
        "orders/<str:code>/<str:secret>/cancel-after-move/",
        order_pages.order_cancel_after_move,
        name="order-cancel-after-move",
    ),
    path(
        "orders/<str:code>/<str:secret>/tickets/<str:ticket_code>/name/",
        order_pages.order_attendee_rename,
        name="order-attendee-rename",
    ),
    path("find-my-tickets/", order_pages.find_my_tickets, name="find-my-tickets"),
    path("language/<str:language>/", language_switch, name="language-switch"),
    path("admin/", admin.site.urls),
    path("checkin/", include("checkin.door_urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("api/", include("tickets.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("checkin.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.XENDIT_SIMULATOR_ENABLED:
    # Dev and test only: Xendit's invoice API, served by us (payments/gateways/simulator).
    urlpatterns.append(path("_xendit/", include("payments.gateways.simulator.urls")))

handler404 = "tedxpay.core.views.not_found"
handler500 = "tedxpay.core.views.server_error"
