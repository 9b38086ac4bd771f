"""Known sets of signatures, officials and visits for the packet and export tests."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from campaign.extensions import db
from campaign.visits.models import Official, Visit, VisitLetter
from tests.factories import make_signature

SNAPSHOT = datetime(2026, 11, 20, 12, 0, 0)
BEFORE = SNAPSHOT - timedelta(days=2)

# (name, country, region, affiliation, consents to be named, state, demand positions)
PEOPLE = [
    ("王小明", "CN", "北京", "", True, "confirmed", (1, 2)),
    ("José Müller", "DE", "Berlin", "Universität", True, "confirmed", (1,)),
    ("Anna 李", "TW", "", "NGO <b>bold</b>", True, "confirmed", (1, 2)),
    ('<script>alert("x")</script>', "US", "", "", True, "confirmed", (1,)),
    ('=HYPERLINK("http://evil")', "US", "+1", "@cmd", True, "confirmed", (2,)),
    ("Private Person", "US", "", "", False, "confirmed", (1, 2)),
    ("陳美華", "HK", "", "", False, "confirmed", (1,)),
    ("Held Hacker", "US", "", "", True, "held", (1,)),
    ("Invalid Ivan", "RU", "", "", True, "invalidated", (1,)),
    ("Unconfirmed Una", "US", "", "", True, "unconfirmed", (1,)),
]
NAMED = {p[0] for p in PEOPLE if p[4] and p[5] == "confirmed"}
UNNAMED = {"Private Person", "陳美華"}
EXCLUDED = {"Held Hacker", "Invalid Ivan", "Unconfirmed Una", "Late Larry"}


def add_signature(
    campaign,
    name,
    country="US",
    region="",
    affiliation="",
    named=True,
    state="confirmed",
    positions=(1,),
    when=BEFORE,
    email=None,
):  # noqa: ANN001
    """One signature of ``campaign`` covering the demands at ``positions``."""
    demands = {d.position: d.id for d in campaign.demands}
    return make_signature(
        campaign.id, name, email=email, country=country, region=region, affiliation=affiliation,
        named=named, state=state, demand_ids=[demands[p] for p in positions], when=when,
    )  # fmt: skip


def add_people(campaign) -> None:  # noqa: ANN001
    """The known set above, plus one confirmed after the snapshot."""
    for i, (name, country, region, affiliation, named, state, positions) in enumerate(PEOPLE):
        add_signature(campaign, name, country, region, affiliation, named, state, positions,
                      email=f"p{i}@example.org")  # fmt: skip
    add_signature(campaign, "Late Larry", positions=(1,), when=SNAPSHOT + timedelta(hours=1),
                  email="late@example.org")  # fmt: skip
    db.session.flush()


def add_visit(campaign, languages=("en", "zh_Hans"), counts_only=False, paper="A4") -> Visit:  # noqa: ANN001
    """A visit to one official per language, including demands 1 and 2."""
    officials = [
        Official(
            name=f"Official {lang}",
            title="Minister",
            office=f"Ministry {lang}",
            government="Testland",
            address="1 Main Street\nCapital City",
            salutation="",
            language=lang,
        )
        for lang in languages
    ]
    visit = Visit(
        slug="test-visit",
        campaign=campaign,
        title="Test visit",
        place="Capital City",
        starts_on=date(2026, 12, 1),
        ends_on=date(2026, 12, 3),
        deadline=date(2026, 11, 30),
        paper=paper,
        counts_only=counts_only,
        officials=officials,
        demands=[d for d in campaign.demands if d.position in (1, 2)],
    )
    visit.letters.append(VisitLetter(locale="en", body="Please read **this**."))
    db.session.add(visit)
    db.session.flush()
    return visit


def pdf_text(data: bytes) -> str:
    """All text of a PDF, as a reader's copy-and-paste would give it."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def qr_payloads(data: bytes) -> list[str]:
    """The QR codes on a PDF's first page, decoded from a rendering of it."""
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=3).to_pil()
    return [r.text for r in zxingcpp.read_barcodes(image)]


def queued_build():  # noqa: ANN201 - a PacketBuild
    """The known people on the seed campaign, a visit, and a build of it queued for the
    worker (committed); call inside an app context."""
    from sqlalchemy import select

    from campaign.campaigns.models import Campaign
    from campaign.packets import builder

    campaign = db.session.scalar(select(Campaign))
    add_people(campaign)
    build = builder.create_build(add_visit(campaign), None)
    builder.start(build)
    db.session.commit()
    return build
