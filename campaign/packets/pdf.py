"""A small page writer over ReportLab's canvas for letters and long lists of names.

Fonts are PDF standard fonts, so nothing needs installing: Helvetica for Latin text and
Adobe's CID fonts for Chinese (STSong-Light, MSung-Light for Traditional letters), which
every PDF reader supplies. Text is split into runs by script so that a Chinese name in an
English letter, or a Latin name in a Chinese one, is drawn with a font that has it.

Long lists are drawn line by line on the canvas, not as platypus flowables: a packet
for 100,000 supporters would otherwise hold every flowable in memory before layout.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import BinaryIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

PAGE_SIZES = {"A4": A4, "Letter": LETTER}
LATIN = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
HANS = "STSong-Light"
HANT = "MSung-Light"
GREY = HexColor("#444444")
MARGIN = 20 * mm
FOOTER_Y = 10 * mm


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the CID fonts once; Paragraph's <b>/<i> map to the same face."""
    for name in (HANS, HANT):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(name, bold, italic, name)


@dataclass(frozen=True)
class Fonts:
    """The faces a packet is drawn with, and how text is split between them."""

    regular: str
    bold: str
    cjk: str
    # Splits text into runs: even items for the regular face, odd ones for the CJK one.
    split: re.Pattern


@lru_cache(maxsize=8)
def _embedded(regular: str, bold: str) -> tuple[str, str]:
    pdfmetrics.registerFont(TTFont("PacketSans", regular))
    pdfmetrics.registerFont(TTFont("PacketSans-Bold", bold or regular))
    for is_bold in (0, 1):
        for italic in (0, 1):
            addMapping(
                "PacketSans", is_bold, italic, "PacketSans-Bold" if is_bold else "PacketSans"
            )
    return "PacketSans", "PacketSans-Bold"


def packet_fonts(cjk: str, ttf: str = "", ttf_bold: str = "") -> Fonts:
    """Standard fonts, or an embedded TrueType face (``PACKET_FONT``) for all but Chinese.

    Helvetica as a standard font has only the WinAnsi characters; a font such as Noto
    Sans or DejaVu Sans also covers Polish, Vietnamese, Cyrillic... names.
    """
    register_fonts()
    if ttf:
        regular, bold = _embedded(ttf, ttf_bold)
        return Fonts(regular, bold, cjk, _HAN_RUNS)
    return Fonts(LATIN, LATIN_BOLD, cjk, _NOT_WINANSI)


# Helvetica as a standard font covers the WinAnsi (cp1252) characters only; anything
# else (Chinese above all) is drawn with the CJK font.
_WINANSI = bytes(range(256)).decode("cp1252", errors="ignore")
_NOT_WINANSI = re.compile(f"([^{re.escape(_WINANSI)}]+)")
# With an embedded TrueType face, only Chinese characters (and CJK punctuation) go to
# the CJK font.
_HAN_RUNS = re.compile(
    "([\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]+)"
)


def runs(text: str, fonts: Fonts) -> list[tuple[bool, str]]:
    """Split ``text`` into ``(is_latin, chunk)`` runs (the common all-ASCII case is one run)."""
    if text.isascii():
        return [(True, text)]
    parts = fonts.split.split(text)
    # re.split with a group alternates: Latin, other, Latin, other, ...
    return [(i % 2 == 0, part) for i, part in enumerate(parts) if part]


def markup(text: str, fonts: Fonts) -> str:
    """Escape ``text`` for a Paragraph and give its non-Latin runs the CJK font."""
    parts = []
    for latin, chunk in runs(text, fonts):
        escaped = html.escape(chunk, quote=False)
        parts.append(escaped if latin else f'<font name="{fonts.cjk}">{escaped}</font>')
    return "".join(parts)


class _HtmlToParagraphs(HTMLParser):
    """Turn the sanitised HTML of rendered Markdown into Paragraph markup, block by block."""

    BLOCKS = {"p", "li", "h2", "h3", "h4", "blockquote", "pre"}

    def __init__(self, fonts: Fonts) -> None:
        super().__init__(convert_charrefs=True)
        self.fonts = fonts
        self.blocks: list[tuple[str, str]] = []
        self._kind = "p"
        self._buf: list[str] = []
        self._lists: list[list] = []  # [ordered, counter]
        self._skip = 0
        self._just_numbered = False

    def _flush(self) -> None:
        text = "".join(self._buf).strip()
        if text:
            self.blocks.append((self._kind, text))
        self._buf = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs_d = dict(attrs)
        if self._skip:
            self._skip += tag == "a"
            return
        if tag == "a" and "footnote-backref" in (attrs_d.get("class") or ""):
            self._skip = 1
        elif tag in ("ol", "ul"):
            self._flush()
            self._lists.append([tag == "ol", 0])
        elif tag == "p" and self._kind == "li" and self._just_numbered:
            pass  # a list item's first paragraph stays on the line of its number
        elif tag in self.BLOCKS:
            self._flush()
            self._kind = "h" if tag in ("h2", "h3", "h4") else tag
            if tag == "li" and self._lists:
                self._lists[-1][1] += 1
                ordered, n = self._lists[-1]
                self._buf.append(f"{n}. " if ordered else "• ")
                self._just_numbered = True
        elif tag in ("b", "strong"):
            self._buf.append("<b>")
        elif tag in ("i", "em"):
            self._buf.append("<i>")
        elif tag == "sup":
            self._buf.append("<super>")
        elif tag == "sub":
            self._buf.append("<sub>")
        elif tag == "br":
            self._buf.append("<br/>")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            self._skip -= tag == "a"
            return
        if tag in ("ol", "ul"):
            self._flush()
            if self._lists:
                self._lists.pop()
        elif tag in self.BLOCKS:
            self._flush()
            self._kind = "li" if self._lists else "p"
            self._just_numbered = False
        elif tag in ("b", "strong"):
            self._buf.append("</b>")
        elif tag in ("i", "em"):
            self._buf.append("</i>")
        elif tag == "sup":
            self._buf.append("</super>")
        elif tag == "sub":
            self._buf.append("</sub>")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self._just_numbered = False
        if not self._skip:
            self._buf.append(markup(" ".join(data.split("\n")), self.fonts))

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(html_text: str, fonts: Fonts) -> list[tuple[str, str]]:
    """``(kind, paragraph markup)`` for each block of sanitised HTML; kind is p, li, h..."""
    parser = _HtmlToParagraphs(fonts)
    parser.feed(str(html_text))
    parser.close()
    return parser.blocks


class PageWriter:
    """Writes flowing text and lines top to bottom, adding pages and footers as it goes.

    The footer reads "page X of Y": Y is unknown until the end, so every page draws a
    form XObject that is defined once the last page is done.
    """

    def __init__(
        self,
        out: BinaryIO,
        paper: str,
        fonts: Fonts,
        footer: str,
        page_label: Callable[[int], tuple[str, str]],
        title: str,
        chinese: bool,
    ) -> None:
        self.size = PAGE_SIZES[paper]
        self.fonts = fonts
        self.footer = footer
        self.page_label = page_label
        self.canvas = Canvas(out, pagesize=self.size, invariant=1, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setCreator("campaign letter packets")
        self.width = self.size[0] - 2 * MARGIN
        self.top = self.size[1] - MARGIN
        self.bottom = MARGIN + 6 * mm
        self.y = self.top
        self.pages = 0
        self._font: tuple[str, float] | None = None
        wrap = "CJK" if chinese else None
        base = {"fontName": fonts.regular, "alignment": TA_LEFT, "wordWrap": wrap}
        self.styles = {
            "p": ParagraphStyle("p", fontSize=10.5, leading=14.5, spaceAfter=6, **base),
            "li": ParagraphStyle(
                "li", fontSize=10.5, leading=14.5, spaceAfter=4, leftIndent=14, **base
            ),
            "blockquote": ParagraphStyle(
                "bq", fontSize=10.5, leading=14.5, spaceAfter=6, leftIndent=20, **base
            ),
            "pre": ParagraphStyle("pre", fontSize=9, leading=12, spaceAfter=6, **base),
            "h": ParagraphStyle("h", fontSize=12.5, leading=16, spaceAfter=6, spaceBefore=8,
                                **{**base, "fontName": fonts.bold}),
            "title": ParagraphStyle("title", fontSize=16, leading=20, spaceAfter=10,
                                    **{**base, "fontName": fonts.bold}),
            "small": ParagraphStyle("small", fontSize=8.5, leading=11, spaceAfter=4,
                                    textColor=GREY, **base),
        }  # fmt: skip

    # -- pages ---------------------------------------------------------------------------

    def _footer(self) -> None:
        self._font = None
        c = self.canvas
        number = c.getPageNumber()
        c.setFillColor(GREY)
        self.draw_text(MARGIN, FOOTER_Y, self.footer, 7.5)
        prefix, _suffix = self.page_label(number)
        x = self.size[0] - MARGIN - 32 * mm
        x += self.draw_text(x, FOOTER_Y, prefix, 7.5)
        c.saveState()
        c.translate(x, FOOTER_Y)
        c.doForm("page_total")
        c.restoreState()
        c.setFillColor(HexColor("#000000"))

    def new_page(self) -> None:
        """Finish the current page and start the next."""
        self._footer()
        self.canvas.showPage()
        self.pages += 1
        self.y = self.top
        self._font = None

    def finish(self) -> int:
        """Close the document; returns the number of pages."""
        self._footer()
        self.canvas.showPage()
        self.pages += 1
        _prefix, suffix = self.page_label(self.pages)
        c = self.canvas
        c.beginForm("page_total")
        c.setFillColor(GREY)
        self._font = None  # a form starts with no font of its own: set it inside the form
        self.draw_text(0, 0, suffix, 7.5)
        c.endForm()
        c.save()
        return self.pages

    def space(self, points: float) -> None:
        """Leave vertical space, starting a page when little is left."""
        self.y -= points
        if self.y < self.bottom:
            self.new_page()

    def need(self, points: float) -> None:
        """Start a new page unless ``points`` of height are left (keeps headings with text)."""
        if self.y - points < self.bottom:
            self.new_page()

    # -- text ----------------------------------------------------------------------------

    def text_width(self, text: str, size: float, bold: bool = False) -> float:
        """Width of ``text`` drawn by ``draw_text``."""
        latin_font = self.fonts.bold if bold else self.fonts.regular
        return sum(
            pdfmetrics.stringWidth(chunk, latin_font if latin else self.fonts.cjk, size)
            for latin, chunk in runs(text, self.fonts)
        )

    def draw_text(
        self, x: float, y: float, text: str, size: float, bold: bool = False, measure: bool = True
    ) -> float:
        """Draw one line of mixed-script text; returns its width (0 unless ``measure``)."""
        latin_font = self.fonts.bold if bold else self.fonts.regular
        parts = runs(text, self.fonts)
        if len(parts) == 1:  # one script: the cheap path most names take
            font = latin_font if parts[0][0] else self.fonts.cjk
            if self._font != (font, size):  # each setFont writes to the page: only on change
                self.canvas.setFont(font, size)
                self._font = (font, size)
            self.canvas.drawString(x, y, text)
            return pdfmetrics.stringWidth(text, font, size) if measure else 0.0
        # One text object per line: readers and text extraction keep the line whole
        # across the font changes between scripts.
        self._font = None
        obj = self.canvas.beginText(x, y)
        width = 0.0
        for latin, chunk in parts:
            font = latin_font if latin else self.fonts.cjk
            obj.setFont(font, size)
            obj.textOut(chunk)
            if measure:
                width += pdfmetrics.stringWidth(chunk, font, size)
        self.canvas.drawText(obj)
        return width

    def paragraph(self, para_markup: str, style: str = "p") -> None:
        """Flow a paragraph (Paragraph markup), splitting it across pages when needed."""
        st = self.styles[style]
        self._font = None
        self.y -= st.spaceBefore
        pending = [Paragraph(para_markup, st)]
        while pending:
            para = pending.pop(0)
            avail = self.y - self.bottom
            _w, h = para.wrap(self.width, avail)
            if h <= avail:
                para.drawOn(self.canvas, MARGIN, self.y - h)
                self.y -= h + st.spaceAfter
                continue
            parts = para.split(self.width, avail)
            if len(parts) < 2:
                if self.y == self.top:  # taller than a page and cannot split: draw anyway
                    para.drawOn(self.canvas, MARGIN, self.bottom)
                    self.new_page()
                    continue
                self.new_page()
                pending.insert(0, para)
                continue
            parts[0].wrap(self.width, avail)
            parts[0].drawOn(self.canvas, MARGIN, self.y - parts[0].height)
            self.new_page()
            pending[0:0] = parts[1:]

    def text(self, text: str, style: str = "p") -> None:
        """Flow plain text (escaped here) as a paragraph."""
        self.paragraph(markup(text, self.fonts), style)

    def line(self, text: str, size: float = 9, indent: float = 0, bold: bool = False) -> None:
        """One line of a list; wraps onto further lines when longer than the page is wide."""
        leading = size * 1.25
        width = self.width - indent
        pieces = [text]
        # No glyph of these fonts is wider than about 1.02 em, so a short line needs no
        # measuring; only long ones are measured (and wrapped if they must be).
        if len(text) * size * 1.02 > width and self.text_width(text, size, bold) > width:
            pieces = self._wrap(text, size, width - 12, bold)
        for n, piece in enumerate(pieces):
            if self.y - leading < self.bottom:
                self.new_page()
            self.y -= leading
            x = MARGIN + indent + (12 if n else 0)
            self.draw_text(x, self.y, piece, size, bold, measure=False)

    def _wrap(self, text: str, size: float, width: float, bold: bool) -> list[str]:
        lines, current = [], ""
        for char in text:
            if current and self.text_width(current + char, size, bold) > width:
                cut = current.rfind(" ")
                if cut > 0:
                    lines.append(current[:cut])
                    current = current[cut + 1 :]
                else:
                    lines.append(current)
                    current = ""
            current += char
        if current:
            lines.append(current)
        return lines

    def qr(self, data: str, x: float, y: float, side: float) -> None:
        """A QR code of ``data`` with its lower-left corner at (x, y)."""
        widget = QrCodeWidget(data, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, self.canvas, x, y)
