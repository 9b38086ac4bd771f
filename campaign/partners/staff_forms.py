"""Organisers' forms for partner organisations and their logins."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from campaign.accounts.services import MIN_PASSWORD_LENGTH
from campaign.campaigns.staff_forms import REQUIRED
from campaign.partners.services import NAME_MAX, URL_MAX
from campaign.validation import CleanText


class PartnerForm(FlaskForm):
    """A partner's name, link, logo, and whether letters name it."""

    name = StringField(
        _l("Name"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX), CleanText()]
    )
    url = StringField(
        _l("Web site (optional)"),
        description=_l("Starting with https:// (or http://)."),
        validators=[Length(max=URL_MAX), CleanText()],
    )
    logo = FileField(
        _l("Logo (optional)"),
        description=_l(
            "PNG or JPEG. It is kept on this server, stripped of what the file says about "
            "who made it, and scaled down; pages never load it from the partner's site."
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    named_in_letters = BooleanField(
        _l("Name this partner in the letters delivered to officials"),
        description=_l("Leave this off for a partner that must not be named to a government."),
    )


class LoginForm(FlaskForm):
    """A login for someone at the partner."""

    email = EmailField(
        _l("Their e-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)]
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[
            DataRequired(REQUIRED),
            Length(min=MIN_PASSWORD_LENGTH, max=200, message=_l("At least 12 characters.")),
        ],
    )
