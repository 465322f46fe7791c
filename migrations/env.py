"""Alembic's environment: the shop's own engine and models (through Flask-Migrate)."""

from alembic import context
from flask import current_app

migrate = current_app.extensions["migrate"]


def run_migrations_online() -> None:
    with migrate.db.engine.connect() as connection:
        # Flask-Migrate's arguments include render_as_batch, which SQLite needs to alter a table.
        context.configure(connection=connection, target_metadata=migrate.db.metadata, **migrate.configure_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not set up; run them against the database")
run_migrations_online()
