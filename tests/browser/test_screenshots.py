"""The README's screenshots, written to docs/screenshots/ by every run of the suite, so
they show the pages as they are now."""

from __future__ import annotations

import pypdfium2
import pytest
from playwright.sync_api import expect

from tests.browser.act import build_packets, confirm, login, sign
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS

LANGS = {"en": "English", "zh-hans": "Simplified Chinese", "zh-hant": "Traditional Chinese"}


def _shot(page, name: str) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000  # a page, not a blank


@pytest.mark.parametrize("lang", list(LANGS))
@pytest.mark.parametrize(("size", "window"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_campaign_page(new_page, site, lang, size, window):
    page = new_page(window)
    page.goto(site.url(f"/{lang}/c/{site.slug}/"))
    # Chinese text must be set in a Chinese font: its glyphs are as wide as they are tall.
    ratio = page.evaluate(
        """() => { const s = document.createElement('span'); s.textContent = '权';
            document.querySelector('main h1').append(s);
            const r = s.getBoundingClientRect(); s.remove(); return r.width / r.height; }"""
    )
    assert ratio > 0.6
    _shot(page, f"campaign-{lang}-{size}")


def test_thank_you_page(new_page, site):
    page = new_page(PHONE)
    address = sign(page, site, "zh-hans", positions=(1, 2, 3), name="王芳")
    confirm(page, site, address)
    _shot(page, "thanks-zh-hans-phone")


def test_moderation_queue_and_packets(new_page, site, tmp_path):
    supporter = new_page(PHONE)
    address = sign(supporter, site, "en", positions=(2,), name="Ana Silva",
                   comment="My father was a lawyer. I sign for him.")  # fmt: skip
    confirm(supporter, site, address)
    page = new_page(DESKTOP)
    login(page, site, "admin")
    page.goto(site.url("/staff/moderation?kind=comments"))
    expect(page.locator("ol.queue > li").first).to_be_visible()
    _shot(page, "moderation-queue")

    page.goto(site.url("/staff/visits/"))
    page.locator("main a", has_text="Hu Jintao").first.click()
    visit_path = page.url.removeprefix(site.base)
    with site.worker_paused():  # caught while it waits: the progress page
        page.locator("form[action$='/build'] button[type=submit]").click()
        expect(page.get_by_role("progressbar")).to_be_visible()
        _shot(page, "packets-progress")
    expect(page.locator("a[href$='/zip']")).to_be_visible(timeout=60_000)
    build_packets(page, site, visit_path)
    letter = page.locator("a[href$='/letter.pdf']").first.get_attribute("href")
    _shot(page, "packets-built")
    page.goto(site.url(visit_path))
    _shot(page, "visit-builds")

    response = page.request.get(site.url(letter))  # with the organiser's session
    assert response.ok
    pdf = pypdfium2.PdfDocument(response.body())
    image = pdf[0].render(scale=1.2).to_pil()
    image.save(SCREENSHOTS / "packet-letter-page-1.png", optimize=True)
    assert image.width > 500
