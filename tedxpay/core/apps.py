from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tedxpay.core"
    label = "core"
    verbose_name = "Core"
