from django.apps import AppConfig


class XenditSimulatorConfig(AppConfig):
    name = "payments.gateways.simulator"
    label = "xendit_simulator"
    verbose_name = "Xendit simulator"
