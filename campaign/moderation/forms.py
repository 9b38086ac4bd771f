"""Moderation forms: every action is a CSRF-protected POST."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from campaign.validation import DateInRange, parse_id


class IdListField(Field):
    """Repeated ids (ticked checkboxes); anything not an id is dropped."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Keep the well-formed ids, in order."""
        self.data = [i for i in (parse_id(v) for v in valuelist) if i is not None]

    def _value(self) -> str:
        return ""


class ActionForm(FlaskForm):
    """Apply one action to the selected signatures, or to one (``action`` = ``name:id``)."""

    reason = TextAreaField(_l("Reason"), validators=[Length(max=1000)])
    action = StringField(validators=[Length(max=60)])
    ids = IdListField()
    back = StringField(validators=[Length(max=2000)])

    def target(self) -> tuple[str, list[int]]:
        """The action's name and the ids it applies to."""
        name, _sep, one = (self.action.data or "").partition(":")
        if one:
            single = parse_id(one)
            return name, [single] if single is not None else []
        return name, list(self.ids.data or [])


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
