"""Fixtures of the security tests."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade

from campaign import config as configuration
from campaign import create_app
from campaign.extensions import db


@pytest.fixture
def instance_app(tmp_path):
    """An app whose database, mail and packets all live in one instance folder."""
    instance = tmp_path / "instance"
    instance.mkdir()
    config = configuration.TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance / 'campaign.db'}"
    config.MAIL_FILE_DIR = str(instance / "mail")
    config.PACKET_DIR = str(instance / "packets")
    app = create_app(config)
    with app.app_context():
        upgrade()
        from campaign.campaigns.seed import load_campaign_file

        campaign, _ = load_campaign_file()
        db.session.commit()
        seeded = {"slug": campaign.slug, "demand_ids": [d.id for d in campaign.demands]}
    yield app, instance, seeded
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
