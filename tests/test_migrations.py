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


def test_visits_revision_backfills_name_sort_keys(app, seeded):
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        downgrade(revision="0004_campaign_content")
        with db.engine.begin() as conn:
            campaign_id = conn.execute(text("SELECT id FROM campaigns")).scalar()
            conn.execute(
                text(
                    "INSERT INTO signatures (campaign_id, email, email_domain, mailbox_key, name,"
                    " country, region, affiliation, comment, comment_state, display,"
                    " name_in_letters, updates, locale, state, hold_reasons, created_at,"
                    " updated_at) VALUES (:c, 'old@example.org', 'example.org',"
                    " 'old@example.org', '王小明', 'CN', '', '', '', 'none', 'full', true, false,"
                    " 'en', 'confirmed', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"c": campaign_id},
            )
        upgrade()
        with db.engine.connect() as conn:
            key = conn.execute(
                text("SELECT sort_name FROM signatures WHERE email = 'old@example.org'")
            ).scalar()
        assert key == "wang xiao ming"
