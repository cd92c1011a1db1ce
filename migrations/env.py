"""Alembic environment: the URL comes from the app's settings unless a caller passes one."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

import app.resources  # noqa: F401  (every registered model, and the indexes their entries derive)
from app.core.config import get_settings
from app.core.database import Base, create_sync_engine
from app.models.base import on_dialect

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_object=lambda obj, *_: on_dialect(obj, connection.dialect.name),
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_sync_engine(get_settings())
    with engine.connect() as connection:
        run_with(connection)
    engine.dispose()


if context.is_offline_mode():
    # `alembic upgrade head --sql`: a caller (scripts/gen_docs.py) may name just the dialect.
    dialect = config.attributes.get("dialect_name")
    if dialect:
        context.configure(dialect_name=dialect, target_metadata=target_metadata)
    else:
        context.configure(url=get_settings().sync_database_url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
