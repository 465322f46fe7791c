"""Alembic's environment: the shop's own engine and models (through Flask-Migrate)."""

from alembic import context
from flask import current_app

migrate = current_app.extensions["migrate"]


def run_migrations_online() -> None:
    with migrate.db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename), and dropping a table that
            # other rows refer to fails while foreign keys are enforced. The switch only works
            # outside a transaction; the keys are checked before the commit and enforced again after.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            # Flask-Migrate's arguments include render_as_batch, which SQLite needs to alter a table.
            context.configure(connection=connection, target_metadata=migrate.db.metadata, **migrate.configure_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not set up; run them against the database")
run_migrations_online()
