"""Organisers' forms for campaigns, demands and translations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from campaign.campaigns.editor import SLUG_PATTERN
from campaign.fields import SingleLineField
from campaign.i18n import NATIVE_NAMES
from campaign.validation import CleanText, DateInRange

REQUIRED = _l("This field is required.")
LOCALE_NAMES = NATIVE_NAMES


class CampaignForm(FlaskForm):
    """A campaign's original-language fields."""

    slug = StringField(
        _l("Address (slug)"),
        description=_l("Lower-case letters, digits and hyphens; it becomes /c/<slug>/."),
        validators=[
            DataRequired(REQUIRED),
            Regexp(SLUG_PATTERN, message=_l("Use 3 to 80 lower-case letters, digits and hyphens.")),
        ],
    )
    source_locale = SelectField(
        _l("Language of the original"),
        choices=[SelectChoice(k, v) for k, v in LOCALE_NAMES.items()],
        default="en",
    )
    title = StringField(
        _l("Title"), validators=[DataRequired(REQUIRED), Length(max=300), CleanText()]
    )
    organisation = StringField(
        _l("Organisation"), validators=[DataRequired(REQUIRED), Length(max=200), CleanText()]
    )
    published_on = DateField(_l("Date of the statement"), validators=[Optional(), DateInRange()])
    body = TextAreaField(
        _l("Statement (Markdown; footnote markers as [^1])"),
        validators=[DataRequired(REQUIRED), Length(max=100_000), CleanText(multiline=True)],
    )
    footnotes = TextAreaField(
        _l("Footnotes and sources (Markdown, as [^1]: text)"),
        validators=[Length(max=20_000), CleanText(multiline=True)],
    )
    media_contacts = TextAreaField(
        _l("Media contacts (Markdown)"), validators=[Length(max=5_000), CleanText(multiline=True)]
    )
    outcome = TextAreaField(
        _l("Outcome, shown once signing closes (Markdown)"),
        validators=[Length(max=20_000), CleanText(multiline=True)],
    )
    goal = IntegerField(
        _l("Goal (number of signatures)"),
        default=0,
        validators=[NumberRange(min=0, max=1_000_000_000, message=_l("A number from 0 up."))],
    )
    packet_small_countries = BooleanField(
        _l("Letter packets name every country, even one with only a few supporters"),
        default=True,
    )


class DemandForm(FlaskForm):
    """One demand's original text."""

    title = StringField(
        _l("Short title"), validators=[DataRequired(REQUIRED), Length(max=300), CleanText()]
    )
    text = TextAreaField(
        _l("Full text (Markdown)"),
        validators=[DataRequired(REQUIRED), Length(max=20_000), CleanText(multiline=True)],
    )


# Texts a translation covers: (name, maximum length, single line).
TRANSLATED_TEXTS = (
    ("title", 300, True),
    ("body", 100_000, False),
    ("footnotes", 20_000, False),
    ("media_contacts", 5_000, False),
    ("outcome", 20_000, False),
)
DEMAND_TEXTS = (("title", 300, True), ("text", 20_000, False))
TOO_LONG = _l("Please keep this under %(max)d characters.")


def _translated(limit: int, single_line: bool):  # noqa: ANN202 - an unbound WTForms field
    field = SingleLineField if single_line else TextAreaField
    return field(validators=[Length(max=limit, message=TOO_LONG),
                             CleanText(multiline=not single_line)])  # fmt: skip


def demand_field_name(demand_id: int, name: str) -> str:
    """The form name of a demand's translated text (``demand-7-title``)."""
    return f"demand-{demand_id}-{name}"


def translation_form(campaign, data: dict[str, str] | None = None) -> FlaskForm:  # noqa: ANN001
    """The translation of every text of ``campaign``, its demands' included.

    A field that is too long or holds what cannot be stored is an error beside it, never
    cut short; titles stay on one line.
    """

    class TranslationForm(FlaskForm):
        pass

    for name, limit, single in TRANSLATED_TEXTS:
        setattr(TranslationForm, name, _translated(limit, single))
    for demand in campaign.demands:
        for name, limit, single in DEMAND_TEXTS:
            setattr(TranslationForm, demand_field_name(demand.id, name), _translated(limit, single))
    return TranslationForm(data=data)


SUBJECT_MAX = 200
BODY_MAX = 20_000


def update_form() -> FlaskForm:
    """An update's subject and text in each language (``subject-zh_Hans`` and so on).

    A subject stays on one line; a field that is too long is an error beside it.
    """

    class UpdateForm(FlaskForm):
        pass

    for locale in LOCALE_NAMES:
        setattr(UpdateForm, f"subject-{locale}", _translated(SUBJECT_MAX, True))
        setattr(UpdateForm, f"body-{locale}", _translated(BODY_MAX, False))
    return UpdateForm()
