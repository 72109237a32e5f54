from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tedxpay.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        # Registers the Api-Key security scheme with drf-spectacular, whichever API module
        # happens to be imported first.
        from tedxpay.core import schema  # noqa: F401
        from tedxpay.core.authentication import api_keys_forget_on_save

        api_keys_forget_on_save()
        # Celery task log lines carry the queuing request's id and the order code (signal
        # handlers; in the web process for publishing, in the worker for running).
        from tedxpay.core import task_logging  # noqa: F401
