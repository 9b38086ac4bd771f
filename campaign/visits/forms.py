"""Organisers' forms for officials, visits and deliveries."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from campaign.campaigns.editor import SLUG_PATTERN
from campaign.campaigns.staff_forms import REQUIRED
from campaign.fields import CheckboxListField
from campaign.i18n import NATIVE_NAMES
from campaign.validation import CleanText, DateInRange
from campaign.visits.models import PAPER_SIZES

LANGUAGES = NATIVE_NAMES


def _text(label, max_length: int = 200, required: bool = True, **kw) -> StringField:  # noqa: ANN001
    validators = [DataRequired(REQUIRED)] if required else [Optional()]
    return StringField(label, validators=[*validators, Length(max=max_length), CleanText()], **kw)


class OfficialForm(FlaskForm):
    """An official's name, office and postal address."""

    name = _text(_l("Name"))
    title = _text(_l("Title"), description=_l("For example: Secretary of State"))
    office = _text(_l("Office"), description=_l("For example: U.S. Department of State"))
    government = _text(_l("Government"))
    address = TextAreaField(
        _l("Postal address"),
        description=_l("One line per line of the address."),
        validators=[DataRequired(REQUIRED), Length(max=1000), CleanText(multiline=True)],
    )
    email = StringField(
        _l("E-mail (optional)"),
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("Enter a valid e-mail address.")),
        ],
    )
    salutation = _text(
        _l("Salutation"),
        required=False,
        description=_l('In the official\'s language, e.g. "Dear Madam Secretary,". Empty: '
                       '"Dear" and the name.'),
    )  # fmt: skip
    language = SelectField(
        _l("Language of the letter"),
        choices=[SelectChoice(k, v) for k, v in LANGUAGES.items()],
        default="en",
    )


class VisitForm(FlaskForm):
    """A visit: when, where, to whom, with what."""

    slug = StringField(
        _l("Address (slug)"),
        description=_l("Lower-case letters, digits and hyphens; used by `flask packets build`."),
        validators=[
            DataRequired(REQUIRED),
            Regexp(SLUG_PATTERN, message=_l("Use 3 to 80 lower-case letters, digits and hyphens.")),
        ],
    )
    # No "required": a select always has a choice, and the field checks it is a valid one.
    campaign_id = SelectField(_l("Campaign"), coerce=int)
    title = _text(_l("Title"), max_length=300)
    place = _text(_l("Place"))
    starts_on = DateField(_l("First day"), validators=[InputRequired(REQUIRED), DateInRange()])
    ends_on = DateField(_l("Last day"), validators=[InputRequired(REQUIRED), DateInRange()])
    deadline = DateField(
        _l("Delivery deadline"),
        description=_l("The day by which the packets must be in the officials' hands."),
        validators=[InputRequired(REQUIRED), DateInRange()],
    )
    paper = SelectField(
        _l("Paper size"), choices=[SelectChoice(p, p) for p in PAPER_SIZES], default="A4"
    )
    counts_only = BooleanField(
        _l("Counts only: name no supporters (for campaigns whose signers are at risk)")
    )
    official_ids = CheckboxListField(_l("Officials addressed"), coerce=int)

    def validate_official_ids(self, field) -> None:  # noqa: ANN001
        """At least one official (checked here: a browser would demand every box)."""
        if not field.data:
            raise ValidationError(_l("Choose at least one official."))

    demand_ids = CheckboxListField(_l("Demands included"), coerce=int)
    subject_en = StringField(
        _l("Subject of the English letter (empty: the visit's title)"),
        validators=[Length(max=200), CleanText()],
    )
    subject_zh_Hans = StringField(
        _l("Subject of the Simplified Chinese letter (empty: the visit's title)"),
        validators=[Length(max=200), CleanText()],
    )
    subject_zh_Hant = StringField(
        _l("Subject of the Traditional Chinese letter (empty: the visit's title)"),
        validators=[Length(max=200), CleanText()],
    )
    letter_en = TextAreaField(
        _l("Cover letter in English (Markdown)"),
        validators=[Length(max=20_000), CleanText(multiline=True)],
    )
    letter_zh_Hans = TextAreaField(
        _l("Cover letter in Simplified Chinese (Markdown)"),
        validators=[Length(max=20_000), CleanText(multiline=True)],
    )
    letter_zh_Hant = TextAreaField(
        _l("Cover letter in Traditional Chinese (Markdown)"),
        validators=[Length(max=20_000), CleanText(multiline=True)],
    )

    def validate_ends_on(self, field) -> None:  # noqa: ANN001
        """The last day cannot come before the first."""
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def validate_deadline(self, field) -> None:  # noqa: ANN001
        """Packets are due before the visit is over."""
        if self.ends_on.data and field.data and field.data > self.ends_on.data:
            raise ValidationError(_l("The deadline cannot be after the last day of the visit."))


DELIVERY_METHODS = {
    "hand": _l("By hand"),
    "post": _l("By post"),
    "courier": _l("By courier"),
    "email": _l("By e-mail"),
    "fax": _l("By fax"),
    "other": _l("Other"),
}


class DeliveryForm(FlaskForm):
    """How and when a packet reached its official."""

    delivered_on = DateField(
        _l("Delivered on"), validators=[InputRequired(REQUIRED), DateInRange()]
    )
    how = SelectField(_l("How"), choices=[SelectChoice(k, v) for k, v in DELIVERY_METHODS.items()])
    note = TextAreaField(
        _l("Note (optional)"), validators=[Length(max=2000), CleanText(multiline=True)]
    )


REPLY_METHODS = {
    "letter": _l("By letter"),
    "email": _l("By e-mail"),
    "meeting": _l("In a meeting"),
    "statement": _l("In a public statement"),
    "other": _l("Other"),
}


class ReplyForm(FlaskForm):
    """What an official answered to a delivered packet."""

    received_on = DateField(_l("Received on"), validators=[InputRequired(REQUIRED), DateInRange()])
    how = SelectField(_l("How"), choices=[SelectChoice(k, v) for k, v in REPLY_METHODS.items()])
    summary = TextAreaField(
        _l("Summary, as the public will read it"),
        validators=[DataRequired(REQUIRED), Length(max=4000), CleanText(multiline=True)],
    )
    locale = SelectField(
        _l("Language of the summary"),
        choices=[SelectChoice(k, v) for k, v in NATIVE_NAMES.items()],
    )
    file = FileField(_l("The reply itself, to publish (optional: PDF, PNG or JPEG)"))
