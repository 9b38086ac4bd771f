"""The dashboard chart counts exactly what the public counts count."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.moderation.services import set_switch
from campaign.signatures.counts import counts_for
from campaign.timeutil import utcnow
from campaign.visits.chart import daily_counts
from tests.packets.helpers import add_signature


def _chart_total(campaign) -> int:
    chart = daily_counts(campaign, days=3, today=utcnow().date())
    return sum(series.total for series in chart.series)


def test_the_chart_stops_where_counting_was_paused(app, seeded):
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        add_signature(
            campaign, "Before Pause", "US", positions=(1, 2), when=utcnow() - timedelta(hours=1)
        )
        db.session.commit()
        set_switch("counting", True, None)
        db.session.commit()
        add_signature(campaign, "After Pause", "US", when=utcnow() + timedelta(seconds=1))
        add_signature(campaign, "Held Person", "US", state="held", when=utcnow())
        db.session.commit()
        counted = counts_for(campaign).per_demand
        assert _chart_total(campaign) == sum(counted.values())
        assert sum(counted.values()) == 2  # one signature, two demands, before the pause
        assert _chart_total(campaign) > 0
