app_name = "xendit_simulator"
urlpatterns: list = []
