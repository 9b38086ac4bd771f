"""Command-line interface: ``flask --app wsgi <group> <command>``."""

from __future__ import annotations

from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

import click
from email_validator import EmailNotValidError
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from campaign.campaigns.seed import load_seed
from campaign.emails import normalise_email
from campaign.extensions import db
from campaign.mail import bounces, outbox
from campaign.privacy import purge


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(campaign_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(privacy_group)
    app.cli.add_command(worker)
    from campaign.accounts.cli import users_group
    from campaign.exports.cli import signatures_group
    from campaign.packets.cli import packets_group

    app.cli.add_command(users_group)
    app.cli.add_command(packets_group)
    app.cli.add_command(signatures_group)


@click.group("campaign", cls=AppGroup)
def campaign_group() -> None:
    """Campaign data."""


@campaign_group.command("seed")
def seed() -> None:
    """Load the seed campaign if absent, and its translations where none are written."""
    from campaign.deploylock import deploy_lock
    from campaign.visits.services import load_seed_visit

    with deploy_lock(db.engine):  # a second server starting now waits, then finds it
        loaded = load_seed()
        campaign = loaded.campaign
        visit, visit_created = load_seed_visit(campaign)
        db.session.commit()
    verb = "Loaded" if loaded.created else "Already present:"
    click.echo(f"{verb} campaign {campaign.slug!r} with {len(campaign.demands)} demands.")
    if loaded.translated and not loaded.created:
        from campaign import pagecache

        pagecache.clear()  # pages shown in the original language until now
        click.echo(f"Added {loaded.translated} translated texts where none were written.")
    verb = "Loaded" if visit_created else "Already present:"
    click.echo(f"{verb} visit {visit.slug!r} addressed to {len(visit.officials)} officials.")


@click.group("outbox", cls=AppGroup)
def outbox_group() -> None:
    """The mail outbox."""


@outbox_group.command("send")
@click.option("--retry-failed", is_flag=True, help="Requeue messages that gave up first.")
def outbox_send(retry_failed: bool) -> None:
    """Deliver every due message once."""
    if retry_failed:
        click.echo(f"Requeued {outbox.retry_failed()} failed messages.")
    report = outbox.deliver_due(limit=10_000)
    click.echo(
        f"Sent {report.sent}, will retry {report.failed}, gave up on {report.gave_up}; "
        f"{report.bounced} bounced, {report.suppressed} not sent to suppressed addresses."
    )


@outbox_group.command("reports")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
def outbox_reports(files: tuple[str, ...]) -> None:
    """Read returned mail (.eml files or folders of them): bounces and spam complaints.

    Every address a delivery report says failed for good (5.x.x), or a spam complaint
    names, goes on the suppression list. Only counts are printed, never an address.
    """
    paths = []
    for name in files:
        path = Path(name)
        paths.extend(sorted(path.glob("*.eml")) if path.is_dir() else [path])
    parsed = []
    for path in paths:
        try:
            parsed.append(BytesParser(policy=email_policy.default).parsebytes(path.read_bytes()))
        except (OSError, ValueError):
            parsed.append(None)
    result = bounces.record_reports(parsed)
    click.echo(
        f"Read {len(paths)} messages: {result.bounces} bounced addresses and "
        f"{result.complaints} complaints put on the suppression list; {result.ignored} were "
        f"not reports of either, {result.unreadable} could not be read."
    )


@outbox_group.command("suppress")
@click.argument("address")
@click.option(
    "--reason", type=click.Choice(["bounce", "complaint"]), default="complaint", show_default=True
)
def outbox_suppress(address: str, reason: str) -> None:
    """Stop confirmations and updates to ADDRESS until its owner signs again."""
    try:
        email = normalise_email(address)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from exc
    bounces.suppress(email, reason)
    db.session.commit()
    click.echo("The address is on the suppression list.")


@click.group("privacy", cls=AppGroup)
def privacy_group() -> None:
    """Data retention."""


@privacy_group.command("purge")
def privacy_purge() -> None:
    """Apply the retention rules now (run daily)."""
    report = purge()
    click.echo(
        f"Cleared {report.ip_hashes_cleared} address hashes, deleted "
        f"{report.unconfirmed_deleted} unconfirmed signatures, {report.submissions_deleted} "
        f"old submissions, {report.mail_deleted} sent or failed mails, "
        f"{report.links_deleted} expired links and {report.login_attempts_deleted} old login "
        f"attempts; removed the files of {report.packet_builds_removed} undelivered packet "
        "builds."
    )


@click.command("worker")
@with_appcontext
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle passes.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
def worker(interval: float, once: bool) -> None:
    """The one background worker: mail, jobs (packet builds, updates), hourly purge."""
    from campaign.worker import Worker

    runner = Worker()
    if once:
        done = runner.run_once()
        m = done.mail
        click.echo(f"mail: sent {m.sent}, retry {m.failed}, gave up {m.gave_up}; jobs: {done.jobs}")
        return
    click.echo("worker: delivering mail and running jobs; Ctrl+C stops it")
    runner.run_forever(interval)
