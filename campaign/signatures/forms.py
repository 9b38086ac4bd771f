"""The public signing form (field names are a public contract: see PRODUCT.md)."""

from __future__ import annotations

import functools

from email_validator import EmailNotValidError
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length

from campaign.emails import normalise_email
from campaign.fields import CheckboxListField, PublicForm
from campaign.validation import CleanText

NAME_MAX = 200
EMAIL_MAX = 254
REGION_MAX = 200
AFFILIATION_MAX = 200
COMMENT_MAX = 2000


def checked_email(field: EmailField) -> str | None:
    """The normalised address in ``field``, or a translated validation error."""
    if not field.data:
        return None
    try:
        return normalise_email(field.data)
    except EmailNotValidError as exc:
        raise ValidationError(_l("Please check this e-mail address.")) from exc


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class DemandsField(CheckboxListField):
    """The demands' checkboxes; values are demand ids."""

    refusal = _l("Please choose among the demands listed.")

    def process_formdata(self, valuelist: list[str]) -> None:
        """Keep only well-formed ids; unknown ones are refused in ``pre_validate``."""
        self.data = []
        self.bad_input = False
        for value in valuelist:
            try:
                self.data.append(int(value))
            except ValueError:
                self.bad_input = True

    def pre_validate(self, form: PublicForm) -> None:
        """Refuse ids that are not demands of this campaign, in our own words."""
        known = {choice.value for choice in self.choices}
        if getattr(self, "bad_input", False) or any(v not in known for v in self.data or []):
            raise ValidationError(self.refusal)


class PartnersField(DemandsField):
    """One checkbox per partner organisation, none ticked unless the signer ticks it."""

    refusal = _l("Please choose among the organisations listed.")


def _text(label, limit: int, required=None, field=StringField, **clean):  # noqa: ANN001, ANN202
    """A stripped text field with a length limit and the text rules (``CleanText``)."""
    validators = [DataRequired(required)] if required else []
    validators += [
        Length(max=limit, message=_l("Please keep this under %(max)d characters.")),
        CleanText(**clean),
    ]
    return field(label, filters=[_strip], validators=validators)


def _email_field() -> EmailField:
    return _text(_l("E-mail address"), EMAIL_MAX, _l("Please give your e-mail address."),
                 field=EmailField)  # fmt: skip


@functools.lru_cache(maxsize=8)
def _country_select(
    country_choices: tuple[tuple[str, str], ...],
) -> tuple[tuple[SelectChoice, ...], frozenset[str]]:
    """The country list's options and codes, built once per language, not per request."""
    options = (SelectChoice("", _l("Choose…")),) + tuple(
        SelectChoice(code, name) for code, name in country_choices
    )
    return options, frozenset(code for code, _ in country_choices)


def _display_field() -> RadioField:
    return RadioField(
        _l("How your name may appear on this site"),
        choices=[
            SelectChoice("full", _l("My full name and country")),
            SelectChoice("initials", _l("My initials and country")),
            SelectChoice("anonymous", _l("Do not show my name")),
        ],
        default="full",
        validate_choice=False,
    )


def _letters_field() -> BooleanField:
    return BooleanField(_l("You may name me in the letters delivered to officials"))


def _updates_field() -> BooleanField:
    return BooleanField(_l("Send me occasional updates about this campaign"))


def valid_display(field: RadioField) -> None:
    """One of the three display choices, or a translated validation error."""
    if field.data not in {"full", "initials", "anonymous"}:
        raise ValidationError(_l("Please choose how your name may appear."))


class SignForm(PublicForm):
    """Sign one campaign, any subset of its demands."""

    name = _text(_l("Your name"), NAME_MAX, _l("Please give your name."), signer=True)
    email = _email_field()
    country = SelectField(
        _l("Country"),
        validate_choice=False,
        validators=[InputRequired(_l("Please choose your country."))],
    )
    region = _text(_l("Region or city (optional)"), REGION_MAX, signer=True)
    affiliation = _text(_l("Organisation or affiliation (optional)"), AFFILIATION_MAX, signer=True)
    comment = _text(_l("Public comment (optional)"), COMMENT_MAX, field=TextAreaField,
                    multiline=True, signer=True)  # fmt: skip
    demands = DemandsField(_l("The demands you sign"), coerce=int)
    display = _display_field()
    name_in_letters = _letters_field()
    updates = _updates_field()
    partners = PartnersField(_l("Partner organisations that may write to you"), coerce=int)
    # Hidden from people by CSS and aria-hidden; naive bots fill it in.
    website = StringField(_l("Leave this field empty"))

    def __init__(self, *args, country_choices=(), demand_ids=(), partner_ids=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices, self._country_codes = _country_select(tuple(country_choices))
        self.country.choices = list(choices)
        self.demands.choices = [SelectChoice(d, str(d)) for d in demand_ids]
        self.partners.choices = [SelectChoice(p, str(p)) for p in partner_ids]
        self.normalised_email: str | None = None

    def validate_email(self, field: EmailField) -> None:
        """Check syntax with email-validator and keep the normalised address."""
        self.normalised_email = checked_email(field)

    def validate_country(self, field: SelectField) -> None:
        """Only ISO 3166 codes are accepted."""
        if field.data and field.data not in self._country_codes:
            raise ValidationError(_l("Please choose a country from the list."))

    def validate_display(self, field: RadioField) -> None:
        """One of the three display choices."""
        valid_display(field)

    def validate_demands(self, field: DemandsField) -> None:
        """At least one demand must be ticked."""
        if not field.data:
            raise ValidationError(_l("Please tick at least one demand."))


class EraseRequestForm(PublicForm):
    """Ask for a link that erases every signature of one address."""

    email = _email_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.normalised_email: str | None = None

    def validate_email(self, field: EmailField) -> None:
        """Check syntax and keep the normalised address."""
        self.normalised_email = checked_email(field)


class ChoicesForm(PublicForm):
    """A supporter's own page: how they are shown, named in letters, sent updates, and
    which partner organisations may write to them."""

    display = _display_field()
    name_in_letters = _letters_field()
    updates = _updates_field()
    partners = PartnersField(_l("Partner organisations that may write to you"), coerce=int)

    def __init__(self, *args, partner_ids=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.partners.choices = [SelectChoice(p, str(p)) for p in partner_ids]

    def validate_display(self, field: RadioField) -> None:
        """One of the three display choices."""
        valid_display(field)
