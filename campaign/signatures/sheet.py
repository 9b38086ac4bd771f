"""The printable signature sheet: a campaign's demands, in plain words, with lines to sign.

One landscape page (A4 or US Letter) in the reader's language: the title and the demands
with a tick box each, what happens to what is written on it, a QR code and the address
of the online form for those who would rather sign there, and ruled lines for name,
country, city, the demands, the two consents, and an e-mail address only for updates.
"""

from __future__ import annotations

import io

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from campaign.campaigns.models import Campaign
from campaign.campaigns.services import localise
from campaign.i18n import URL_CODES
from campaign.packets.pdf import HANS, HANT, markup, packet_fonts
from campaign.urls import external_url

PAPERS = {"A4": A4, "Letter": LETTER}
LINES = 14
GREY = HexColor("#555555")


def _qr(data: str, side: float) -> Drawing:
    widget = QrCodeWidget(data, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def signature_sheet(campaign: Campaign, locale: str, paper: str) -> bytes:
    """The sheet of ``campaign`` in ``locale`` on ``paper`` ("A4" or "Letter"), as PDF."""
    config = current_app.config
    fonts = packet_fonts(HANT if locale == "zh_Hant" else HANS, config.get("PACKET_FONT", ""),
                         config.get("PACKET_FONT_BOLD", ""))  # fmt: skip
    view = localise(campaign, locale)
    demands = [d for d in view.demands if not d.retired]
    lang = URL_CODES[locale]
    online = external_url("campaigns.show", slug=campaign.slug, lang=lang)
    privacy = external_url("signatures.privacy", lang=lang)

    def style(size: float, bold: bool = False, grey: bool = False) -> ParagraphStyle:
        return ParagraphStyle(
            "s",
            fontName=fonts.bold if bold else fonts.regular,
            fontSize=size,
            leading=size * 1.3,
            textColor=GREY if grey else HexColor("#000000"),
        )

    def p(text: str, size: float = 9, bold: bool = False, grey: bool = False) -> Paragraph:
        return Paragraph(markup(text, fonts), style(size, bold, grey))

    with force_locale(locale):
        out = io.BytesIO()
        page = landscape(PAPERS[paper])
        doc = SimpleDocTemplate(
            out,
            pagesize=page,
            leftMargin=12 * mm,
            rightMargin=12 * mm,
            topMargin=10 * mm,
            bottomMargin=10 * mm,
            title=view.title,
            author=campaign.organisation,
            subject=_("Signature sheet"),
        )
        width = page[0] - 24 * mm
        story = [
            p(view.title, 13, bold=True),
            p(_("Signature sheet") + " · " + campaign.organisation, 8.5, grey=True),
            Spacer(1, 2 * mm),
        ]
        listed = [p(f"{d.position}. {d.title}", 8.5) for d in demands]
        notice = [
            p(_("What happens to what you write here"), 8.5, bold=True),
            p(
                _(
                    "You are counted for each demand you tick. Your name, country and city are given to the officials the letters go to only if you tick “Name me in letters”; otherwise you are counted, never named. Your e-mail address is used only to send you updates, if you tick that box, and is never shown or shared. Nothing on this sheet is published on the website. To have your data erased: %(url)s",  # noqa: E501
                    url=privacy,
                ),
                7.5,
            ),
            Spacer(1, 1.5 * mm),
            p(_("Would you rather sign online? Scan the code or open:"), 7.5, bold=True),
            p(online, 7.5),
        ]
        top = Table(
            [[listed, notice, _qr(online, 24 * mm)]],
            colWidths=[width * 0.5, width * 0.5 - 28 * mm, 28 * mm],
        )
        top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [top, Spacer(1, 3 * mm)]
        header = [p(_("Name"), 8, True), p(_("Country"), 8, True), p(_("City"), 8, True)]
        header += [p(str(d.position), 8, True) for d in demands]
        header += [
            p(_("Name me in letters"), 7, True),
            p(_("Send me updates"), 7, True),
            p(_("E-mail (only for updates)"), 7, True),
        ]
        ticks = len(demands)
        fixed = 12 * mm * ticks + 2 * 17 * mm
        rest = width - fixed
        widths = [rest * 0.3, rest * 0.15, rest * 0.15]
        widths += [12 * mm] * ticks + [17 * mm, 17 * mm, rest * 0.4]
        table = Table([header] + [[""] * len(header) for _ in range(LINES)],
                      colWidths=widths, rowHeights=[None] + [8.2 * mm] * LINES)  # fmt: skip
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, GREY),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("BACKGROUND", (0, 0), (-1, 0), HexColor("#eeeeee")),
                ]
            )
        )
        story += [
            p(_("Tick the demands you sign (the numbers above)."), 8, bold=True),
            Spacer(1, 1 * mm),
            table,
            Spacer(1, 2 * mm),
            p(
                _(
                    "Collected at ________________ on ____________ by ________________ · sheet ____ of ____"  # noqa: E501
                ),
                8,
                grey=True,
            ),
        ]
        doc.build(story)
        return out.getvalue()
