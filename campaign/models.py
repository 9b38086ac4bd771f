"""Imports every model so that the metadata (and Alembic) sees all tables."""

from campaign.accounts.models import LoginAttempt, StaffRole, StaffUser  # noqa: F401
from campaign.audit import ModerationEvent  # noqa: F401
from campaign.campaigns.models import (  # noqa: F401
    Campaign,
    CampaignTranslation,
    CampaignUpdate,
    Demand,
    DemandTranslation,
    UpdateText,
)
from campaign.jobs import Job  # noqa: F401
from campaign.mail.models import OutboxMessage  # noqa: F401
from campaign.packets.models import Packet, PacketBuild  # noqa: F401
from campaign.partners.models import Partner, PartnerConsent  # noqa: F401
from campaign.settings import Setting  # noqa: F401
from campaign.signatures.models import Signature, SignatureDemand, Submission  # noqa: F401
from campaign.tokens import LinkToken  # noqa: F401
from campaign.visits.models import Official, Visit, VisitLetter  # noqa: F401
