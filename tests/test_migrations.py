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


def test_trust_revision_keeps_every_signature_and_its_demands(app, seeded):
    """0006 rebuilds tables on SQLite (AUTOINCREMENT): nothing that refers to them is lost."""
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        downgrade(revision="0005_visits_packets")
        with db.engine.begin() as conn:
            campaign_id = conn.execute(text("SELECT id FROM campaigns")).scalar()
            demand_id = conn.execute(text("SELECT id FROM demands LIMIT 1")).scalar()
            conn.execute(
                text(
                    "INSERT INTO signatures (campaign_id, email, email_domain, mailbox_key, name,"
                    " sort_name, country, region, affiliation, comment, comment_state, display,"
                    " name_in_letters, updates, locale, state, hold_reasons, created_at,"
                    " confirmed_at, updated_at) VALUES (:c, 'kept@example.org', 'example.org',"
                    " 'kept@example.org', 'Kept', 'kept', 'US', '', '', '', 'none', 'full', true,"
                    " false, 'en', 'confirmed', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"c": campaign_id},
            )
            sig_id = conn.execute(text("SELECT id FROM signatures")).scalar()
            conn.execute(
                text(
                    "INSERT INTO signature_demands (signature_id, demand_id, created_at,"
                    " confirmed_at) VALUES (:s, :d, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"s": sig_id, "d": demand_id},
            )
        upgrade()
        with db.engine.connect() as conn:
            links = conn.execute(
                text("SELECT count(*) FROM signature_demands WHERE signature_id = :s"),
                {"s": sig_id},
            ).scalar()
            schema = (
                conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'signatures'")
                ).scalar()
                if db.engine.dialect.name == "sqlite"
                else "AUTOINCREMENT"
            )
        assert links == 1
        assert "AUTOINCREMENT" in schema


def test_tallies_revision_counts_the_signatures_already_stored(app, seeded):
    """0008 starts the tallies from the rows, by the counting rule, frozen for a closed one."""
    from campaign.campaigns.models import Campaign
    from campaign.signatures.counts import compute_counts, counting_until, scan_counts
    from tests.factories import make_signature

    with app.app_context():
        campaign = db.session.scalar(db.select(Campaign))
        ids = seeded["demand_ids"]
        make_signature(campaign.id, "Wang Wei", country="CN", demand_ids=ids[:2])
        make_signature(campaign.id, "Jane Roe", country="US", demand_ids=ids[1:3])
        make_signature(campaign.id, "Held One", country="US", state="held", demand_ids=ids[:1])
        db.session.commit()
        campaign_id = campaign.id
        db.session.remove()
        downgrade(revision="0007_jobs")
        upgrade()
        campaign = db.session.get(Campaign, campaign_id)
        read = compute_counts(campaign_id)
        assert read == scan_counts(campaign_id, counting_until(campaign))
        assert (read.total, read.by_country, read.per_demand[ids[1]]) == (2, {"CN": 1, "US": 1}, 2)
