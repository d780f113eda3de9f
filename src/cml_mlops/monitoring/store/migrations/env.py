"""Alembic environment of the monitoring store: runs on the connection `migrate` hands over (online only)."""

from __future__ import annotations

from alembic import context

from cml_mlops.monitoring.schema import metadata
from cml_mlops.monitoring.store.migration import VERSION_TABLE

if context.is_offline_mode():
    raise RuntimeError("the monitoring store is migrated online only: call cml_mlops.monitoring.store.migrate(engine)")

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    transactional_ddl=True,
    # SQLite alters tables by copying them: later migrations write `with op.batch_alter_table(...)`.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
