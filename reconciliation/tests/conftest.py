from payments.tests.conftest import placed_order  # noqa: F401 (fixture)
