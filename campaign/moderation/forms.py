"""Moderation forms: every action is a CSRF-protected POST."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from campaign.validation import DateInRange


class ActionForm(FlaskForm):
    """Apply one action to the selected signatures."""

    reason = TextAreaField(_l("Reason"), validators=[Length(max=1000)])


class BulkForm(FlaskForm):
    """Criteria for a bulk invalidation."""

    class Meta:
        csrf = False  # the preview is a GET; the POST that acts carries ActionForm's token

    ip_hash = StringField(_l("Network address hash"), validators=[Optional(), Length(max=64)])
    email_domain = StringField(_l("E-mail domain"), validators=[Optional(), Length(max=254)])
    country = StringField(_l("Country code"), validators=[Optional(), Length(max=2)])
    since = DateTimeLocalField(_l("Signed from (UTC)"), validators=[Optional(), DateInRange()])
    until = DateTimeLocalField(_l("Signed before (UTC)"), validators=[Optional(), DateInRange()])
    campaign = SelectField(_l("Campaign"), validators=[Optional()], validate_choice=False)
