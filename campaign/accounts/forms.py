"""Staff forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    ValidationError,
)
from wtforms.validators import DataRequired, EqualTo, Length

from campaign.accounts.models import STAFF_ROLES
from campaign.accounts.services import MIN_PASSWORD_LENGTH
from campaign.fields import CheckboxListField
from campaign.signatures.forms import checked_email


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_l("This field is required.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("This field is required.")), Length(max=200)]
    )


def _role_labels() -> list[SelectChoice]:
    labels = {"admin": _l("Admin"), "organiser": _l("Organiser"), "moderator": _l("Moderator")}
    return [SelectChoice(r, labels[r]) for r in STAFF_ROLES]


class UserForm(FlaskForm):
    """Create a staff user."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(_l("This field is required.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(_l("This field is required.")),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("At least 12 characters.")),
        ],
    )
    roles = CheckboxListField(_l("Roles"), validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_labels()

    def validate_roles(self, field: CheckboxListField) -> None:
        """At least one known role."""
        if not field.data or set(field.data) - set(STAFF_ROLES):
            raise ValidationError(_l("Choose at least one role."))

    def validate_email(self, field: EmailField) -> None:
        """A well-formed address."""
        checked_email(field)


class RolesForm(FlaskForm):
    """Change a user's roles."""

    roles = CheckboxListField(_l("Roles"), validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = _role_labels()


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("This field is required."))]
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("This field is required.")),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("At least 12 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("new", message=_l("The two passwords differ."))],
    )


class ActionForm(FlaskForm):
    """A bare POST with its CSRF token (buttons)."""
