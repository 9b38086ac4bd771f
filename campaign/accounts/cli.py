"""``flask users …``: manage staff accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from campaign.accounts import services
from campaign.accounts.models import STAFF_ROLES, StaffUser
from campaign.extensions import db

users_group = AppGroup("users", help="Staff accounts.")
role_option = click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES),
    help="A role to grant; repeat for several.",
)  # fmt: skip


def _read_password() -> str:
    """From standard input when it is not a terminal, else prompted twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _get(email: str) -> StaffUser:
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"No staff user {email}.")
    return user


@users_group.command("create")
@click.argument("email")
@role_option
def create(email: str, roles: tuple[str, ...]) -> None:
    """Create a staff user; the password is read from standard input or prompted."""
    try:
        user = services.create_user(email, _read_password(), list(roles))
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.email} with roles: {', '.join(sorted(user.roles))}.")


@users_group.command("set-roles")
@click.argument("email")
@role_option
def set_roles(email: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles."""
    user = _get(email)
    services.set_roles(user, list(roles))
    db.session.commit()
    click.echo(f"{user.email}: {', '.join(sorted(user.roles))}.")


@users_group.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate a user and end their sessions."""
    user = _get(email)
    services.set_active(user, False)
    db.session.commit()
    click.echo(f"Deactivated {user.email}.")


@users_group.command("list")
def list_users() -> None:
    """List staff users with their roles."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.email)):
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.email}\t{','.join(sorted(user.roles))}\t{state}")
