"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_migrate import upgrade

from campaign import config as configuration
from campaign import create_app
from campaign.extensions import db


@contextmanager
def seeded_instance(instance: Path, **settings: object) -> Iterator[tuple]:
    """An app (with ``settings``) whose database, mail and packets live in ``instance``.

    Yields the app and the seed campaign's slug and demand ids.
    """
    instance.mkdir()
    config = configuration.TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance / 'campaign.db'}"
    config.MAIL_FILE_DIR = str(instance / "mail")
    config.PACKET_DIR = str(instance / "packets")
    config.UPLOAD_DIR = str(instance / "uploads")
    for name, value in settings.items():
        setattr(config, name, value)
    app = create_app(config)
    with app.app_context():
        upgrade()
        from campaign.campaigns.seed import load_campaign_file

        campaign, _ = load_campaign_file()
        db.session.commit()
        seeded = {"slug": campaign.slug, "demand_ids": [d.id for d in campaign.demands]}
    try:
        yield app, seeded
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def instance_app(tmp_path):
    """An app whose database, mail and packets all live in one instance folder."""
    instance = tmp_path / "instance"
    with seeded_instance(instance) as (app, seeded):
        yield app, instance, seeded
