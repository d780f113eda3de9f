"""One alembic migration at a time in this process.

Alembic's `context` and `op` are module-level proxies, not thread-local: two migrations running in two threads
of one process swap each other's context, and one of them creates its tables in the other's database. The
prediction store migrates lazily in the capture writer's thread, and MLflow migrates its SQLite store the first
time a client opens it; both go through `ALEMBIC_TURNS`.
"""

from __future__ import annotations

import threading

ALEMBIC_TURNS = threading.RLock()
