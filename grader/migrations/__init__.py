"""Gradebook schema migrations (Alembic), run by the gradebook itself when it opens a database.

A fresh database is created at the newest revision; one written before migrations existed
(no alembic_version table) is stamped with the revision its columns match and upgraded in
place; one stamped with a revision this grader does not know was written by a newer grader
and is refused, so an old grader never writes rows a newer schema does not expect.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from grader.errors import GraderError

MIGRATIONS = Path(__file__).resolve().parent
# Any constant: serialises concurrent graders creating or upgrading one PostgreSQL gradebook.
POSTGRES_LOCK_KEY = 0x67726164


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def revision_before_alembic(connection: Connection) -> str | None:
    """The revision an unstamped gradebook's tables match (None: no gradebook here yet)."""
    inspector = inspect(connection)
    if not inspector.has_table("runs"):
        return None
    columns = {column["name"] for column in inspector.get_columns("runs")}
    return "0002" if "raw_score" in columns else "0001"


def upgrade_gradebook(engine: Engine, shown_url: str) -> None:
    """Bring the gradebook at ``engine`` to this grader's schema, or refuse a newer one."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return
        if current is not None and current not in {revision.revision for revision in script.walk_revisions()}:
            raise GraderError(f"the gradebook {shown_url} has schema revision {current}, newer than this grader "
                              f"knows ({head}); upgrade grader: pip install -U grader")
        config = alembic_config(connection)
        if current is None:
            found = revision_before_alembic(connection)
            if found is not None:
                command.stamp(config, found)
        command.upgrade(config, "head")
