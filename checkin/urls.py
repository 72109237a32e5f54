from django.urls import path

from checkin.apis import CheckinCreateApi

urlpatterns = [
    path("checkins", CheckinCreateApi.as_view(), name="api-checkins"),
]
