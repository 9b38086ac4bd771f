"""What a supporter is asked to confirm, as label and value pairs in their language."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _

from campaign.countries import country_name
from campaign.partners.services import partners_of
from campaign.signatures.models import Submission, split_ids


def submission_details(submission: Submission) -> list[tuple[str, str]]:
    """The details a confirmation link would store, for the mail and the confirm page."""
    display = {
        "full": _("My full name and country"),
        "initials": _("My initials and country"),
        "anonymous": _("Do not show my name"),
    }
    rows = [
        (_("Name"), submission.name),
        (_("Country"), country_name(submission.country, str(get_locale()))),
    ]
    if submission.region:
        rows.append((_("Region or city"), submission.region))
    if submission.affiliation:
        rows.append((_("Organisation"), submission.affiliation))
    if submission.comment:
        rows.append((_("Public comment, after review"), submission.comment))
    rows += [
        (_("Shown on this site as"), display.get(submission.display, submission.display)),
        (_("Named in letters to officials"), _("Yes") if submission.name_in_letters else _("No")),
        (_("Updates by e-mail"), _("Yes") if submission.updates else _("No")),
    ]
    partners = partners_of(submission.campaign_id)
    if partners:
        chosen = set(split_ids(submission.partner_ids))
        names = [p.name for p in partners if p.id in chosen]
        rows.append((_("Partner organisations that may write to you"),
                     ", ".join(names) if names else _("None")))  # fmt: skip
    return rows
