"""The import rule of docs/architecture.md ("Layers"): imports only go downward, and no two
modules of the project import each other, directly or around a circle.

Read from the source (ast), not by importing: every import counts, at the top of a module
or inside a function. The one exception is a task importing its service when it runs: the
services queue tasks (so a tasks module sits on the ground floor and imports nothing of ours
above it at its top), and the task's body calls up into the service. Tests and migrations
are not checked."""

import ast
import fnmatch
from pathlib import Path

from django.conf import settings

PROJECT_PACKAGES = (
    "tedxpay",
    "tickets",
    "vouchers",
    "orders",
    "payments",
    "notifications",
    "reconciliation",
    "checkin",
)

# Top to bottom; the first pattern that matches a module places it. A module may import
# from its own layer or any layer below, never from a layer above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "entry points: APIs, pages, admin, commands",
        (
            "*.admin",
            "*.admin_actions",
            "orders.admin_comps",
            "orders.admin_refunds",
            "orders.admin_event_cancellation",
            "orders.admin_event_moves",
            "orders.admin_attendees",
            "orders.attendee_apis",
            "*.apis",
            "*.views",
            "orders.order_pages",
            # The checkout form's one-time token as an idempotency key (the page's own helper).
            "orders.form_submissions",
            # The orders this browser placed (a signed cookie), for the checkout's redirect.
            "orders.placed_here",
            # Wrong voucher codes per client address, for the checkout page.
            "orders.voucher_guesses",
            "*.urls",
            "*.forms",
            "*.serializers",
            "*.management.commands.*",
            "orders.dashboard",
            "orders.holds_admin",
            "checkin.door",
            "checkin.door_urls",
            "tedxpay.core.metrics",
            "tedxpay.core.probes",
            "tedxpay.wsgi",
            "tedxpay.asgi",
            # The stand-in for Xendit's servers: reached over HTTP, imported by nothing below.
            "payments.gateways.simulator",
            "payments.gateways.simulator.*",
        ),
    ),
    (
        "checkout: talks to Xendit, touches order and payment",
        (
            "orders.checkout",
            "orders.checkout.*",
            # The daily report heals through the one rule (orders.checkout.invoices).
            "reconciliation.services",
            "reconciliation.healing",
            "reconciliation.classify",
            "reconciliation.csv_export",
        ),
    ),
    ("order transitions", ("orders.services", "orders.expiry", "orders.attendees", "checkin.services")),
    (
        "own rows only: payments, emails, API bookkeeping",
        (
            "payments.services",
            "payments.refunds",
            "payments.selectors",
            "payments.webhooks",
            "notifications.services",
            "notifications.order_links",
            "notifications.reminders",
            "tedxpay.core.services",
            "tedxpay.core.idempotency",
        ),
    ),
    (
        "ground floor: models, stock, gateways, audit, buyer rules, tasks, core",
        (
            "*.models",
            "*.tasks",
            "*.apps",
            "*.errors",
            "orders.audit",
            "orders.buyers",
            "orders.holds",
            "orders.links",
            # Vouchers and the rules an order is priced and limited by (docs/vouchers.md).
            "orders.pricing",
            "orders.buyer_limits",
            "orders.voucher_display",
            "orders.buyer_messages",
            "vouchers",
            "vouchers.pricing",
            "vouchers.selectors",
            "vouchers.services",
            "orders.ticket_codes",
            "checkin.selectors",
            "checkin.validity",
            "checkin.roles",
            "checkin",
            "tickets.services",
            "tickets.stock_sql",
            "tickets.selectors",
            "payments.gateways",
            "payments.gateways.*",
            "notifications.emails",
            "notifications.qr",
            "notifications.ticket_pdf",
            "notifications.calendar",
            "tickets.event_time",
            "payments.channel_names",
            "tedxpay.core.*",
            "tedxpay.settings",
            "tedxpay.celery",
            "tedxpay",
            "tedxpay.core",
            "tickets",
            "orders",
            "payments",
            "notifications",
            "reconciliation",
            "*.management",
            "*.management.commands",
            "*.templatetags",
            "*.templatetags.*",
        ),
    ),
]


def layer_of(module: str) -> int:
    """0 is the top layer."""
    for index, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return index
    raise LookupError(f"{module} is in no layer: place it in LAYERS and in docs/architecture.md")


def project_sources(root: Path) -> dict[str, str]:
    sources = {}
    for package in PROJECT_PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            sources[".".join(parts)] = path.read_text()
    return sources


def imports_of(module: str, source: str, known: set[str]) -> list[tuple[str, bool]]:
    """(imported project module, at call time?) for every import statement in `source`."""
    found = []
    tree = ast.parse(source)
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level] if module in known else module.split(".")
                base = ".".join([*package, base] if base else package)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, id(node) in in_function))
    return found


def import_rule_violations(sources: dict[str, str]) -> list[str]:
    known = set(sources)
    graph: dict[str, set[str]] = {module: set() for module in known}
    problems = []
    for module, source in sorted(sources.items()):
        is_task_module = module.endswith(".tasks")
        for imported, at_call_time in imports_of(module, source, known):
            if at_call_time and is_task_module:
                continue  # a task imports its service when it runs: the one allowed way up
            if at_call_time and not module.endswith(".apps"):
                # An import inside a function hides a cycle or an upward call; only a task
                # (above) and an AppConfig.ready() (Django's place for registrations) have one.
                problems.append(f"{module} imports {imported} inside a function")
            graph[module].add(imported)
            if layer_of(imported) < layer_of(module):
                problems.append(
                    f"{module} ({LAYERS[layer_of(module)][0]}) imports {imported} "
                    f"({LAYERS[layer_of(imported)][0]}): imports go downward only"
                )
    problems.extend(f"import cycle: {' -> '.join(cycle)}" for cycle in _cycles(graph))
    return problems


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append([*sorted(component), sorted(component)[0]])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_imports_only_go_downward_and_no_module_imports_another_in_a_circle():
    assert import_rule_violations(project_sources(Path(settings.BASE_DIR))) == []


def test_every_module_of_the_project_is_placed_in_a_layer():
    for module in project_sources(Path(settings.BASE_DIR)):
        layer_of(module)


# --- the checker itself catches what it must ------------------------------------------


def test_the_check_catches_an_upward_import():
    sources = {
        "orders.checkout": "",
        "orders.checkout.invoices": "from orders.services import order_pay\n",
        "orders.services": "from payments.services import payment_lock\n",
        "payments.services": "def payment_lock():\n    from orders.services import order_lock\n",
    }

    assert import_rule_violations(sources) == [
        "payments.services imports orders.services inside a function",
        "payments.services (own rows only: payments, emails, API bookkeeping) imports orders.services "
        "(order transitions): imports go downward only",
        "import cycle: orders.services -> payments.services -> orders.services",
    ]


def test_the_check_lets_a_task_import_its_service_when_it_runs_and_nothing_else():
    sources = {
        "orders.services": "from orders.tasks import invoice_expire_task\n",
        "orders.tasks": "def invoice_expire_task():\n    from orders.checkout.invoices import invoice_expire\n",
        "orders.checkout.invoices": "from orders.services import order_pay\n",
        "orders.checkout": "",
        "notifications.tasks": "from notifications.services import notification_send\n",
        "notifications.services": "from notifications.tasks import notification_send_task\n",
    }

    assert import_rule_violations(sources) == [
        "notifications.tasks (ground floor: models, stock, gateways, audit, buyer rules, tasks, core) imports "
        "notifications.services (own rows only: payments, emails, API bookkeeping): imports go downward only",
        "import cycle: notifications.services -> notifications.tasks -> notifications.services",
    ]
