"""What a phase of load cost the servers, read before and after it: CPU seconds per
process role from /proc (user + system, all threads), the statements MariaDB executed
(its global status counters) and the commands Redis processed.

On a shared, noisy machine throughput moves with the neighbours; CPU seconds and
statements per request do not (much), which is why they are the figures to compare.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The statements that do the work, and the ones that frame it (transactions, savepoints).
DATA_STATEMENTS = ("Com_select", "Com_insert", "Com_update", "Com_delete", "Com_replace")
FRAMING_STATEMENTS = ("Com_begin", "Com_commit", "Com_rollback", "Com_savepoint", "Com_release_savepoint")


def process_cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the ")".
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Snapshot:
    cpu: dict[str, float]
    db: dict[str, int]
    redis_commands: int


class Meter:
    def __init__(self, stack):
        self.stack = stack
        self._db = None
        self._redis = None

    def _db_connection(self):
        import MySQLdb

        if self._db is None:
            url = urlparse(self.stack.service_env["DATABASE_URL"])
            self._db = MySQLdb.connect(
                host=url.hostname, port=url.port, user=url.username, passwd=url.password, db=url.path.lstrip("/")
            )
        return self._db

    def _redis_client(self):
        import redis

        if self._redis is None:
            self._redis = redis.Redis.from_url(self.stack.service_env["REDIS_URL"])
        return self._redis

    def snapshot(self) -> Snapshot:
        pids = self.stack.pids()
        cpu = {role: sum(process_cpu_seconds(pid) for pid in role_pids) for role, role_pids in pids.items()}
        cursor = self._db_connection().cursor()
        names = ("Questions", *DATA_STATEMENTS, *FRAMING_STATEMENTS)
        cursor.execute(
            "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ", ".join(["%s"] * len(names)),  # noqa: UP031
            names,
        )
        db = {name: int(value) for name, value in cursor.fetchall()}
        redis_commands = int(self._redis_client().info("stats")["total_commands_processed"])
        return Snapshot(cpu=cpu, db=db, redis_commands=redis_commands)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self._redis is not None:
            self._redis.close()


def cost(before: Snapshot, after: Snapshot, requests: int) -> dict:
    """Per request: CPU ms by role (and the server total: web + db + redis, the simulator
    apart as it stands in for Xendit), SQL statements, Redis commands."""
    per = max(requests, 1)
    cpu_ms = {role: 1000 * (after.cpu[role] - before.cpu[role]) / per for role in after.cpu}
    cpu_ms["server"] = cpu_ms["web"] + cpu_ms["db"] + cpu_ms["redis"]
    delta = {name: after.db.get(name, 0) - before.db.get(name, 0) for name in after.db}
    # The meter's own SHOW STATUS is one question per snapshot: not the application's.
    questions = delta.get("Questions", 0) - 1
    return {
        "requests": requests,
        "cpu_ms": {role: round(value, 2) for role, value in cpu_ms.items()},
        "sql_statements": round(sum(delta.get(name, 0) for name in DATA_STATEMENTS) / per, 2),
        "sql_by_kind": {
            name.removeprefix("Com_"): round(delta.get(name, 0) / per, 2)
            for name in (*DATA_STATEMENTS, *FRAMING_STATEMENTS)
            if delta.get(name, 0)
        },
        "db_round_trips": round(questions / per, 2),
        "redis_commands": round((after.redis_commands - before.redis_commands - 1) / per, 2),
    }
