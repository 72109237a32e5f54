from django.contrib.auth import views as auth_views
from django.urls import path

from checkin import views

urlpatterns = [
    path("", views.door_page, name="door"),
    path("scan", views.door_scan, name="door-scan"),
    path("undo", views.door_undo, name="door-undo"),
    path("count", views.door_count_view, name="door-count"),
    path("search", views.door_search, name="door-search"),
    path("list/", views.door_list, name="door-list"),
    path("login/", views.DoorLoginView.as_view(), name="door-login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="door-login"), name="door-logout"),
]
