from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Events & tickets"

    def ready(self):
        from tickets.selectors import tickets_forget_on_save

        tickets_forget_on_save()
