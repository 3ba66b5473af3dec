"""The migrated schema is exactly what the models say, on the database under test."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from lms.extensions import db


# SQLite cannot reflect an expression index (lower(name) and the like); Alembic then leaves
# it out of the comparison, which PostgreSQL still makes.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_head_matches_the_models():
    # The session fixture built this database with `upgrade head`; compare it to the models.
    # (On the test's own connection: on SQLite it holds the write lock for the test.)
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
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


def test_the_tallies_migration_counts_what_is_already_there(tmp_path, app):
    """Upgrading a database that has outbox messages (on a scratch SQLite database; the
    same was run by hand on PostgreSQL) starts their tallies from a recount of them."""
    import flask_migrate

    from lms import create_app

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/scratch.db",
                          "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    # Its own engine: the tests' session is bound to the database under test.
    engine = create_engine(f"sqlite:///{tmp_path}/scratch.db")
    with scratch.app_context():
        flask_migrate.upgrade(revision="e9c45b7d8a13")  # the one before the tallies
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO outbox_message (to_address, subject, body_text, template,"
                " created_at, sent_at, last_error, sensitive) VALUES"
                " ('a@x.test', 's', 'b', 'invitation', '2026-12-01 10:00:00', NULL, NULL, 0),"
                " ('b@x.test', 's', 'b', 'invitation', '2026-12-01 10:00:00', NULL, 'down', 0),"
                " ('c@x.test', 's', 'b', 'invitation', '2026-12-01 10:00:00',"
                "  '2026-12-01 10:01:00', NULL, 0),"
                " ('d@x.test', 's', 'b', 'password_reset', '2026-12-01 10:00:00', NULL, NULL, 0)"))
        flask_migrate.upgrade()
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT name, key, count FROM tally")).all()
    engine.dispose()
    assert sorted(kept) == [("outbox.failed", "invitation", 1),
                            ("outbox.queued", "invitation", 1),
                            ("outbox.queued", "password_reset", 1),
                            ("outbox.sent", "invitation", 1)]
