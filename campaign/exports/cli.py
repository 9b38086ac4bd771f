"""``flask signatures export``: the staff export, from the command line."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from campaign.campaigns.models import Campaign
from campaign.exports import services
from campaign.extensions import db

signatures_group = AppGroup("signatures", help="Signatures.")


_PROBLEMS = {
    "no_demand": "The campaign has no demand {demand}.",
    "bad_state": "Unknown state.",
    "bad_country": "Unknown country code.",
    "bad_date": "Dates must fall between 1900-01-01 and 2200-12-31.",
    "reversed": "--until is before --since.",
}


def _date(value: str | None):  # noqa: ANN202
    return datetime.strptime(value, "%Y-%m-%d").date() if value else None


@signatures_group.command("export")
@click.argument("campaign_slug")
@click.option("--format", "fmt", type=click.Choice(services.FORMATS), default="csv")
@click.option("--demand", type=int, help="Only signatures of the demand at this position.")
@click.option(
    "--state",
    type=click.Choice([*services.STATES, "any"]),
    default="confirmed",
    show_default=True,
)
@click.option("--country", help="ISO 3166 alpha-2 code.")
@click.option("--since", help="Signed on or after YYYY-MM-DD.")
@click.option("--until", help="Signed on or before YYYY-MM-DD.")
@click.option("--include-email", is_flag=True, help="Add the e-mail addresses.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
def export_command(campaign_slug, fmt, demand, state, country, since, until, include_email, out):  # noqa: ANN001, PLR0913
    """Export the signatures of CAMPAIGN_SLUG (recorded in the audit trail)."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == campaign_slug))
    if campaign is None:
        raise click.ClickException(f"No campaign with the slug {campaign_slug!r}.")
    try:
        flt = services.make_filter(
            campaign,
            demand_position=demand,
            state=state,
            country=country,
            signed_from=_date(since),
            signed_until=_date(until),
            include_email=include_email,
        )
    except services.ExportError as exc:
        raise click.ClickException(_PROBLEMS[exc.code].format(demand=demand)) from exc
    except ValueError as exc:
        raise click.ClickException(f"Dates are written YYYY-MM-DD ({exc}).") from exc
    export_id, rows = services.start_export(campaign, flt, fmt, None)
    db.session.commit()
    out = out or Path(services.file_name(campaign, export_id, fmt))
    with out.open("w", encoding="utf-8", newline="") as fh:
        for chunk in services.render(
            services.export_batches(campaign, flt, export_id), fmt, services.columns(flt)
        ):
            fh.write(chunk)
    click.echo(f"Export {export_id}: {rows} rows to {out}", err=out == sys.stdout)
