"""The migrated schema is exactly what the models say, on the database under test."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import SAWarning

from lms.extensions import db


def test_upgrade_head_matches_the_models():
    # The session fixture built this database with `upgrade head`; compare it to the models.
    # (On the test's own connection: on SQLite it holds the write lock for the test.)
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression (lower(full_name)): it
        # says so and skips it, and Alembic then compares the plain indexes. PostgreSQL
        # reads them, so the expression indexes are compared there.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based",
                                category=SAWarning)
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_and_upgrade_round_trip(tmp_path, app):
    """Every revision can be undone and redone (on a scratch SQLite database)."""
    import flask_migrate

    from lms import create_app

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/scratch.db",
                          "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    with scratch.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        engine = create_engine(f"sqlite:///{tmp_path}/scratch.db")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "user_account" in inspect(engine).get_table_names()
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys():
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
