"""A campaign's counts as open data for journalists: per day, per demand and per country
(countries below ``PUBLIC_COUNTRY_MIN`` summed), never a name or anything about a person."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from campaign.campaigns.models import Campaign
from campaign.csvsafe import bom_writer, safe_cell
from campaign.extensions import db
from campaign.signatures.counts import (
    counted_demand_links,
    counted_signatures,
    counting_until,
    counts_for,
)
from campaign.signatures.models import Signature, SignatureDemand
from campaign.timeutil import as_date, utcnow

LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
CSV_HEADER = ["table", "date", "demand", "country", "supporters"]


@dataclass
class Day:
    """Supporters whose confirmation fell on one day (UTC), in all and per demand."""

    day: date
    supporters: int = 0
    per_demand: dict[int, int] = field(default_factory=dict)  # demand position -> count


@dataclass
class OpenData:
    """Everything the data page, its CSV and its JSON carry."""

    campaign: Campaign
    generated_at: datetime
    country_minimum: int
    total: int
    demands: list[tuple[int, str, int]]  # position, title, supporters
    countries: dict[str, int]
    other_countries: int
    days: list[Day]

    def as_json(self) -> dict:
        """The JSON document (``/<lang>/c/<slug>/data.json``)."""
        return {
            "campaign": self.campaign.slug,
            "title": self.campaign.title,
            "organisation": self.campaign.organisation,
            "licence": LICENCE,
            "licence_url": LICENCE_URL,
            "generated_at": self.generated_at.isoformat(timespec="seconds") + "Z",
            "country_minimum": self.country_minimum,
            "signatures": self.total,
            "demands": [{"position": p, "title": t, "signatures": n} for p, t, n in self.demands],
            "by_country": self.countries,
            "other_countries": self.other_countries,
            "by_day": [
                {
                    "date": d.day.isoformat(),
                    "signatures": d.supporters,
                    "demands": {str(p): n for p, n in sorted(d.per_demand.items())},
                }
                for d in self.days
            ],
        }

    def as_csv(self) -> str:
        """One long table (``/<lang>/c/<slug>/data.csv``): a row per day, per day and
        demand, per demand and per country, each saying which it is."""
        out = io.StringIO()
        writer = bom_writer(out)
        writer.writerow(CSV_HEADER)
        writer.writerow(["total", "", "", "", self.total])
        for position, _title, n in self.demands:
            writer.writerow(["demand", "", position, "", n])
        for code, n in sorted(self.countries.items()):
            writer.writerow(["country", "", "", safe_cell(code), n])
        if self.other_countries:
            writer.writerow(["country", "", "", "other", self.other_countries])
        for d in self.days:
            writer.writerow(["day", d.day.isoformat(), "", "", d.supporters])
            for position, n in sorted(d.per_demand.items()):
                writer.writerow(["day_demand", d.day.isoformat(), position, "", n])
        return out.getvalue()


def open_data(campaign: Campaign, country_minimum: int, titles: dict[int, str]) -> OpenData:
    """The open data of ``campaign``, demand titles from ``titles`` (id -> localised)."""
    until = counting_until(campaign)  # agrees with the public counts
    counts = counts_for(campaign)
    countries, other = counts.public_countries(country_minimum)
    positions = {d.id: d.position for d in campaign.demands}
    day = func.date(Signature.confirmed_at)
    days = {
        as_date(d): Day(as_date(d), n)
        for d, n in db.session.execute(
            select(day, func.count()).where(*counted_signatures(campaign.id, until)).group_by(day)
        )
    }
    link_day = func.date(SignatureDemand.confirmed_at)
    for d, demand_id, n in db.session.execute(
        select(link_day, SignatureDemand.demand_id, func.count())
        .join(Signature, Signature.id == SignatureDemand.signature_id)
        .where(*counted_signatures(campaign.id, until), *counted_demand_links(until))
        .group_by(link_day, SignatureDemand.demand_id)
    ):
        entry = days.setdefault(as_date(d), Day(as_date(d)))
        entry.per_demand[positions[demand_id]] = n
    return OpenData(
        campaign=campaign,
        generated_at=utcnow().replace(microsecond=0),
        country_minimum=country_minimum,
        total=counts.total,
        demands=[
            (d.position, titles.get(d.id, d.title), counts.per_demand.get(d.id, 0))
            for d in campaign.demands
        ],
        countries=countries,
        other_countries=other,
        days=[days[k] for k in sorted(days)],
    )
