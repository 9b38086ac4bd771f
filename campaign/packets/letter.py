"""One official's packet: the letter (PDF), the annex (CSV) and the manifest (JSON).

Everything here is a function of the database at the snapshot, the packet's identifier
and the verification address, so building the same snapshot again gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from campaign.campaigns.services import localise
from campaign.countries import country_choices
from campaign.csvsafe import bom_writer, safe_cell
from campaign.markup import render_markdown
from campaign.names import with_pinyin
from campaign.packets import snapshot as snap
from campaign.packets.pdf import HANS, HANT, Fonts, PageWriter, html_blocks, markup, packet_fonts
from campaign.partners.services import named_in_letters
from campaign.visits.models import Official, Visit

LETTER_FILE = "letter.pdf"
ANNEX_FILE = "annex.csv"
MANIFEST_FILE = "manifest.json"
ANNEX_HEADER = [
    "packet",
    "demand",
    "demand_title",
    "country",
    "country_name",
    "name",
    "region",
    "affiliation",
    "source",  # online, or paper (typed in from a sheet)
]
ANNEX_COUNTS_HEADER = ["packet", "demand", "demand_title", "supporters"]


@dataclass
class DemandCount:
    """One demand's numbers in a packet."""

    demand_id: int
    position: int
    title: str
    supporters: int
    named: int

    def as_dict(self) -> dict:
        """The manifest's and the database's form."""
        return {
            "demand_id": self.demand_id,
            "position": self.position,
            "title": self.title,
            "supporters": self.supporters,
            "named": self.named,
        }


@dataclass
class PacketResult:
    """What was written for one packet."""

    packet_id: str
    locale: str
    counts: list[DemandCount]
    supporters: int
    named: int
    pages: int
    files: dict[str, str] = field(default_factory=dict)  # name -> SHA-256


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_url(base_url: str, packet_id: str) -> str:
    """The public address of a packet's verification page."""
    return f"{base_url.rstrip('/')}/verify/{packet_id}"


def _page_label(template: str) -> Callable[[int], tuple[str, str]]:
    before, _sep, after = template.partition("%(page)s")

    def label(number: int) -> tuple[str, str]:
        # The part after the page number is the same on every page once the total is
        # known, so it is drawn from one shared form (see PageWriter).
        return before + str(number), after.replace("%(pages)s", str(number))

    return label


def plan_units(visit: Visit, snapshot: datetime) -> int:
    """Units of work a build of ``visit`` will report: names written plus one per demand."""
    per_packet = len(visit.demands)
    if not visit.counts_only:
        counts = snap.demand_counts([d.id for d in visit.demands], snapshot)
        per_packet += sum(named for _total, named in counts.values())
    return per_packet * len(visit.officials)


def write_packet(
    target: Path,
    visit: Visit,
    official: Official,
    packet_id: str,
    snapshot: datetime,
    base_url: str,
    tick: Callable[[int], None] = lambda n: None,
    partners: list[str] | None = None,
) -> PacketResult:
    """Write ``letter.pdf``, ``annex.csv`` and ``manifest.json`` for one official.

    ``partners``: the partner organisations the letter names (the build's); by default,
    those marked to be named now.
    """
    if partners is None:
        partners = named_in_letters(visit.campaign_id)
    target.mkdir(parents=True, exist_ok=True)
    locale = official.language
    with force_locale(locale):
        result = _write_letter_and_annex(
            target, visit, official, packet_id, snapshot, base_url, locale, tick, partners
        )
    result.files = {
        LETTER_FILE: sha256_file(target / LETTER_FILE),
        ANNEX_FILE: sha256_file(target / ANNEX_FILE),
    }
    manifest = _manifest(visit, official, result, snapshot, base_url)
    (target / MANIFEST_FILE).write_bytes(manifest)
    result.files[MANIFEST_FILE] = hashlib.sha256(manifest).hexdigest()
    return result


def _manifest(
    visit: Visit, official: Official, result: PacketResult, snapshot: datetime, base_url: str
) -> bytes:
    data = {
        "packet": result.packet_id,
        "verify_url": verify_url(base_url, result.packet_id),
        "snapshot": snapshot.replace(microsecond=0).isoformat() + "Z",
        "campaign": {"slug": visit.campaign.slug, "title": visit.campaign.title},
        "visit": {
            "slug": visit.slug,
            "title": visit.title,
            "place": visit.place,
            "starts_on": visit.starts_on.isoformat(),
            "ends_on": visit.ends_on.isoformat(),
            "deadline": visit.deadline.isoformat(),
        },
        "official": {
            "name": official.name,
            "title": official.title,
            "office": official.office,
            "government": official.government,
        },
        "language": result.locale,
        "paper": visit.paper,
        "counts_only": visit.counts_only,
        "demands": [c.as_dict() for c in result.counts],
        "totals": {"supporters": result.supporters, "named": result.named},
        "files": {name: result.files[name] for name in (LETTER_FILE, ANNEX_FILE)},
    }
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def _write_letter_and_annex(
    target: Path,
    visit: Visit,
    official: Official,
    packet_id: str,
    snapshot: datetime,
    base_url: str,
    locale: str,
    tick: Callable[[int], None],
    partners: list[str],
) -> PacketResult:
    campaign = visit.campaign
    view = localise(campaign, locale)
    included = {d.id for d in visit.demands}
    demands = [d for d in view.demands if d.id in included]
    chinese = locale.startswith("zh")
    config = current_app.config
    fonts = packet_fonts(
        HANT if locale == "zh_Hant" else HANS,
        config.get("PACKET_FONT", ""),
        config.get("PACKET_FONT_BOLD", ""),
    )
    url = verify_url(base_url, packet_id)
    number = lambda n: format_decimal(n, locale=locale)  # noqa: E731
    supporters, named_total = snap.distinct_counts([d.id for d in demands], snapshot)
    country_names = dict(country_choices(locale))
    numbers = snap.demand_counts([d.id for d in demands], snapshot)

    with (
        (target / LETTER_FILE).open("wb") as pdf_out,
        (target / ANNEX_FILE).open("w", encoding="utf-8", newline="") as csv_out,
    ):
        annex = bom_writer(csv_out)
        annex.writerow(ANNEX_COUNTS_HEADER if visit.counts_only else ANNEX_HEADER)
        pw = PageWriter(
            pdf_out,
            visit.paper,
            fonts,
            footer=_("Packet %(id)s · verify at %(url)s", id=packet_id, url=url),
            page_label=_page_label(_("Page %(page)s of %(pages)s")),
            title=f"{visit.title} · {official.name}",
            chinese=chinese,
        )
        _cover_letter(pw, visit, official, view.title, snapshot, url, supporters, locale, fonts,
                      partners)  # fmt: skip
        pw.new_page()
        pw.paragraph(markup(view.title, fonts), "title")
        for kind, block in html_blocks(view.body, fonts):
            pw.paragraph(block, kind)
        pw.new_page()
        pw.paragraph(markup(_("The recommendations and their supporters"), fonts), "title")
        when = format_datetime(snapshot, "medium", tzinfo=None, locale=locale)
        pw.text(_("Counted at %(time)s UTC.", time=when), "small")
        if visit.counts_only:
            pw.text(_("To protect them, this packet names none of the supporters."), "small")

        counts: list[DemandCount] = []
        for demand in demands:
            total, named = numbers[demand.id]
            counts.append(DemandCount(demand.id, demand.position, demand.title, total, named))
            pw.need(60)
            pw.paragraph(markup(f"{demand.position}. {demand.title}", fonts), "h")
            for kind, block in html_blocks(demand.text, fonts):
                pw.paragraph(block, kind)
            pw.paragraph(
                "<b>"
                + markup(
                    ngettext(
                        "%(n)s confirmed supporter",
                        "%(n)s confirmed supporters",
                        total,
                        n=number(total),
                    ),
                    fonts,
                )
                + "</b>"
            )
            demand_title = safe_cell(demand.title)
            if visit.counts_only:
                annex.writerow([packet_id, demand.position, demand_title, total])
                tick(1)
                continue
            current, country, written = None, "", 0
            others = frozenset()
            if not visit.campaign.packet_small_countries:
                minimum = config["PUBLIC_COUNTRY_MIN"]
                others = snap.small_countries(demand.id, snapshot, minimum)
            for person in snap.named_supporters(demand.id, snapshot, locale, others):
                if person.country != current:
                    current, country = (
                        person.country,
                        country_names.get(person.country, person.country)
                        if person.country != snap.OTHER
                        else _("Other countries"),
                    )
                    pw.need(30)
                    pw.space(4)
                    pw.line(country, size=9.5, bold=True)
                shown = person.name if chinese else with_pinyin(person.name)
                extra = " · ".join(p for p in (person.region, person.affiliation) if p)
                pw.line(f"{shown} — {extra}" if extra else shown, indent=10)
                annex.writerow(
                    [
                        packet_id,
                        demand.position,
                        demand_title,
                        current,
                        country,
                        safe_cell(person.name),
                        safe_cell(person.region),
                        safe_cell(person.affiliation),
                        person.source,
                    ]
                )
                written += 1
                if written % 500 == 0:
                    tick(500)
            tick(written % 500)
            unnamed = total - named
            if unnamed:
                pw.space(4)
                pw.text(
                    ngettext(
                        "and %(n)s more supporter who asked not to be named",
                        "and %(n)s more supporters who asked not to be named",
                        unnamed,
                        n=number(unnamed),
                    )
                )
            tick(1)
        pages = pw.finish()
    return PacketResult(
        packet_id=packet_id,
        locale=locale,
        counts=counts,
        supporters=supporters,
        named=0 if visit.counts_only else named_total,
        pages=pages,
    )


def _cover_letter(
    pw: PageWriter,
    visit: Visit,
    official: Official,
    campaign_title: str,
    snapshot: datetime,
    url: str,
    supporters: int,
    locale: str,
    fonts: Fonts,
    partners: list[str],
) -> None:
    campaign = visit.campaign
    side = 26 * 2.8346
    pw.qr(url, pw.size[0] - 20 * 2.8346 - side, pw.top - side + 4, side)
    pw.paragraph(markup(campaign.organisation, fonts), "title")
    pw.paragraph(markup(campaign_title, fonts), "small")
    pw.space(18)
    pw.text(format_date(snapshot.date(), "long", locale=locale))
    pw.space(6)
    for line in [official.name, official.title, official.office, *official.address.splitlines()]:
        if line.strip():
            pw.line(line.strip(), size=10.5)
    pw.space(14)
    pw.paragraph(
        "<b>" + markup(_("Regarding: %(visit)s", visit=visit.subject_for(locale)), fonts) + "</b>"
    )
    pw.text(official.salutation or _("Dear %(name)s,", name=official.name))
    letter = render_markdown(visit.letter_for(locale))
    for kind, block in html_blocks(letter, fonts):
        pw.paragraph(block, kind)
    pw.space(6)
    pw.text(_("Respectfully,"))
    pw.text(
        ngettext(
            "On behalf of %(organisation)s and %(n)s supporter",
            "On behalf of %(organisation)s and %(n)s supporters",
            supporters,
            organisation=campaign.organisation,
            n=format_decimal(supporters, locale=locale),
        )
    )
    if partners:
        # Only the partners an organiser marked to be named to officials.
        pw.paragraph(markup(_("Together with %(partners)s", partners=", ".join(partners)), fonts))
    pw.space(10)
    pw.text(
        _(
            "This packet can be checked at %(url)s (or with the QR code): it shows the "
            "numbers counted and the fingerprints of its files, and nothing personal.",
            url=url,
        ),
        "small",
    )


def annex_rows(path: Path) -> list[list[str]]:
    """Read an annex back (tests, and anyone checking a packet)."""
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))
