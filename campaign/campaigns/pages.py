"""The campaign page, shared by the page view and by the signing form's error path."""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale

from campaign.campaigns.models import Campaign
from campaign.campaigns.services import localise, open_campaigns, signable_demands
from campaign.campaigns.updates import published_updates
from campaign.countries import country_choices, country_name, country_options
from campaign.packets.replies import campaign_replies
from campaign.partners.services import partners_of
from campaign.settings import signing_paused
from campaign.signatures.counts import counts_for, recent_supporters
from campaign.signatures.forms import SignForm
from campaign.visits.forms import REPLY_METHODS


def sign_form(
    demand_ids: list[int] | tuple[int, ...],
    formdata: object = None,
    partner_ids: list[int] | tuple[int, ...] = (),
) -> SignForm:
    """A signing form for a campaign's signable ``demand_ids``, in the current locale."""
    locale = str(get_locale())
    demand_ids = list(demand_ids)
    form = SignForm(
        formdata=formdata,
        country_choices=country_choices(locale),
        demand_ids=demand_ids,
        partner_ids=list(partner_ids),
    )
    if formdata is None:
        form.demands.data = demand_ids  # every demand ticked by default
        form.partners.data = []  # and no partner: each is the signer's own choice
    return form


def render_campaign_page(campaign: Campaign, form: SignForm | None = None, status: int = 200):
    """Render ``campaign`` with its demands, counts, recent supporters and the form."""
    locale = str(get_locale())
    view = localise(campaign, locale)
    counts = counts_for(campaign)
    others = [c for c in open_campaigns() if c.id != campaign.id]
    supporters = recent_supporters(campaign.id)
    partners = partners_of(campaign.id)
    if form is None:
        form = sign_form([d.id for d in signable_demands(campaign)],
                         partner_ids=[p.id for p in partners])  # fmt: skip
    body = render_template(
        "campaigns/campaign.html",
        view=view,
        campaign=campaign,
        counts=counts,
        form=form,
        partners=partners,
        others=[localise(c, locale) for c in others],
        supporters=supporters,
        signing_paused=signing_paused(),
        news=[(u, u.text_for(locale)) for u in published_updates(campaign)],
        replies=campaign_replies(campaign.id),
        reply_methods=REPLY_METHODS,
        country_name=lambda code: country_name(code, locale),
        country_options=country_options,
    )
    return body, status
