"""Names the code keeps to (docs/architecture.md, "Names"): a Celery task is named after the
service it runs (`<service>_task`, registered under its module's path), beat only starts
tasks that exist, and the Xendit invoice call has one verb, "expire". Read from the source
(ast), as the import-layer test does."""

import ast
from pathlib import Path

from django.conf import settings

from tedxpay.celery import app as celery_app
from tedxpay.core.tests.test_import_layers import project_sources


def _is_shared_task(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "shared_task"


def task_name_problems(sources: dict[str, str]) -> list[str]:
    problems = []
    for module, source in sorted(sources.items()):
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [decorator for decorator in node.decorator_list if _is_shared_task(decorator)]
            if not decorators:
                continue
            if any(
                isinstance(decorator, ast.Call) and any(keyword.arg == "name" for keyword in decorator.keywords)
                for decorator in decorators
            ):
                problems.append(f"{module}.{node.name}: registered under another name than its own")
            if not node.name.endswith("_task"):
                problems.append(f"{module}.{node.name}: a task's name ends in _task")
                continue
            service = node.name.removesuffix("_task")
            called = {
                call.func.id if isinstance(call.func, ast.Name) else call.func.attr
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)
            }
            # The service itself, or the service with a qualifier (order_expire_stale_asked).
            if not any(name == service or name.startswith(f"{service}_") for name in called):
                problems.append(f"{module}.{node.name}: runs no service called {service}")
    return problems


def invoice_close_names(sources: dict[str, str]) -> list[str]:
    """Identifiers that call the Xendit invoice expiry "close"."""
    found = []
    for module, source in sorted(sources.items()):
        for node in ast.walk(ast.parse(source)):
            name = getattr(node, "name", None) or getattr(node, "id", None) or getattr(node, "attr", None)
            if isinstance(name, str) and "invoice" in name.lower() and "clos" in name.lower():
                found.append(f"{module}: {name}")
    return sorted(set(found))


def test_every_task_is_named_after_the_service_it_runs():
    assert task_name_problems(project_sources(Path(settings.BASE_DIR))) == []


def test_beat_starts_only_tasks_that_exist():
    celery_app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled - set(celery_app.tasks) == set()


def test_the_invoice_expiry_is_called_expire_everywhere():
    assert invoice_close_names(project_sources(Path(settings.BASE_DIR))) == []


def test_the_checks_catch_a_misnamed_task_and_a_second_verb():
    sources = {
        "orders.tasks": (
            "@shared_task\ndef expire_stale_orders():\n    return order_expire_stale()\n\n"
            '@shared_task(name="orders.tasks.sweep")\ndef payments_sweep_task():\n    return payments_sweep()\n\n'
            "@shared_task\ndef refunds_resume_task():\n    return refund_resume()\n"
        ),
        "orders.checkout.sweeps": "def invoices_close_left_open():\n    pass\n",
    }

    assert task_name_problems(sources) == [
        "orders.tasks.expire_stale_orders: a task's name ends in _task",
        "orders.tasks.payments_sweep_task: registered under another name than its own",
        "orders.tasks.refunds_resume_task: runs no service called refunds_resume",
    ]
    assert invoice_close_names(sources) == ["orders.checkout.sweeps: invoices_close_left_open"]
