"""Text equal character for character, whatever the database's collation.

MySQL's and MariaDB's usual collations (utf8mb4_general_ci, utf8mb4_unicode_ci, MySQL 8's
utf8mb4_0900_ai_ci) compare without case and without accents: `budi@gmaïl.com`, an address
on a domain anyone can register, equals `budi@gmail.com` there, and "find my tickets" would
mail Budi's private order links to it. Emails are stored as `email_normalise` writes them,
so only the exact value is the same buyer. SQLite compares the bytes already.
"""

from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Collate
from django.db.models.lookups import Exact

_BINARY_COLLATION = {"mysql": "utf8mb4_bin"}


def text_equals(field: str, value: str) -> Q:
    """`field` (a lookup path such as "buyer__email") equal to `value` exactly. The plain
    equality stays beside the exact one, so the column's index still finds the rows."""
    same = Q(**{field: value})
    collation = _BINARY_COLLATION.get(connection.vendor)
    if collation:
        same &= Q(Exact(Collate(F(field), collation), value))
    return same
