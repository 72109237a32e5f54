"""Running code in parallel threads for the race tests (each thread its own DB connection)."""

import threading

from django.db import connection


def run_together(*functions, timeout: float = 60) -> list:
    """Run each function in its own thread, all released at the same moment by a barrier;
    return their results or the exceptions they raised, in order. A thread still running
    after `timeout` seconds fails the test (a deadlock or a lock wait that never ends)."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread hung (deadlock?)"
    return results
