"""Migrations: an empty database upgrades to head and back down; models match head."""

from flask_migrate import check, downgrade, upgrade
from sqlalchemy import inspect

from campaign.extensions import db


def test_upgrade_from_empty_to_head_and_back(app):
    with app.app_context():
        db.session.remove()
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "campaigns",
            "demands",
            "signatures",
            "signature_demands",
            "outbox_messages",
        } <= tables


def test_models_have_no_unmigrated_changes(app, capsys):
    with app.app_context():
        check()  # raises SystemExit(1) when models changed without a migration
