"""Accessibility in Chromium: axe-core (WCAG 2.1 A and AA rules) on every public and staff
page in each language, the signing form by keyboard alone, visible focus, accessible
names, and text at 200% zoom and 320 px without horizontal scrolling."""

from __future__ import annotations

import re
from collections import deque

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.act import (
    SIGN_BUTTON,
    add_partner,
    build_packets,
    confirm,
    deliver_and_reply,
    enter_paper_batch,
    fill_form,
    login,
    new_address,
    sign,
)
from tests.browser.conftest import PASSWORD

LANGS = ("en", "zh-hans", "zh-hant")
PARTNER_LOGIN = "crawl@partner.example.org"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
# Not pages: files, machine answers, and links that act (language switch, logout).
NOT_PAGES = re.compile(
    r"^/(static|api|metrics|healthz|readyz|language|replies)/|/staff/packets/|/zip$|/export\?"
    r"|[?&]format=|\.(csv|json)$|\.pdf(\?|$)|logout"
)
axe = Axe()


def _shape(path: str) -> str:
    """Pages that differ only by an id are one page for these checks."""
    return re.sub(r"\d+", "N", path.split("#", 1)[0])


def crawl(page: Page, base: str, starts: list[str], limit: int = 80) -> list[str]:
    """Every page reachable from ``starts`` by following this site's links, one per shape."""
    queue, seen, pages = deque(starts), set(), []
    while queue and len(pages) < limit:
        path = queue.popleft()
        if _shape(path) in seen or NOT_PAGES.search(path):
            continue
        seen.add(_shape(path))
        response = page.goto(base + path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        pages.append(path)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            if href.startswith(base + "/"):
                queue.append(href.removeprefix(base).split("#", 1)[0])
    return pages


def violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as loaded, one line each."""
    found = axe.run(page, options=AXE_OPTIONS).response["violations"]
    lines = []
    for v in found:
        targets = [n["target"] for n in v["nodes"]][:3]
        lines.append(f"{page.url} {v['id']} ({v['impact']}): {v['help']} at {targets}")
    return lines


@pytest.fixture(scope="module")
def populated(site, browser):  # noqa: ANN001, ANN201
    """A confirmed signature with a comment waiting for a moderator, and a finished build,
    so that the queue, the build and the verification pages have something to show."""
    context = browser.new_context()
    page = context.new_page()
    address = sign(page, site, "en", positions=(1,), name="Kim Park", comment="Stand firm.")
    confirm(page, site, address)
    login(page, site, "admin")
    page.goto(site.url("/staff/visits/"))
    page.locator("main a", has_text="Hu Jintao").first.click()
    build_packets(page, site, page.url.removeprefix(site.base))
    deliver_and_reply(page, "The ministry acknowledged the letter.")
    reply_form = page.locator("main a[href$='/reply']").first.get_attribute("href")
    enter_paper_batch(page, site, [("Lin Hua", "Taiwan", (1, 2))])  # a batch page to crawl
    # A partner: its logo and consent box on every campaign page, its pages to crawl.
    add_partner(page, site, "Crawl Partners", login_email=PARTNER_LOGIN)
    erase_address = sign(page, site, "en", positions=(2,), name="Erin Wu")
    confirm(page, site, erase_address)
    context.close()
    return {"erase": erase_address, "reply_form": reply_form}


def _special_pages(page: Page, site, lang: str) -> list[str]:  # noqa: ANN001
    """Pages no link leads to: the states a supporter reaches through a form or a mail."""
    special = [
        f"/{lang}/c/{site.slug}/check-email",
        f"/{lang}/confirm/not-a-real-token",  # the link-problem page
        f"/{lang}/c/no-such-campaign/",  # the 404 page
    ]
    address = sign(page, site, lang, positions=(3, 4))
    mail = site.wait_for_mail(address)
    special.append(site.link_in(mail, "confirm").removeprefix(site.base))
    mine = site.link_in(mail, "my").removeprefix(site.base)
    special += [mine, mine + "/erase"]  # the supporter's own page, and its erase step
    return special


@pytest.mark.parametrize("lang", LANGS)
def test_every_public_page_has_no_wcag_violations(new_page, site, populated, lang):
    page = new_page()
    pages = crawl(page, site.base, [f"/{lang}/", f"/{lang}/verify/unknown"])
    pages += _special_pages(page, site, lang)
    assert any("/c/" in p for p in pages)
    assert any("/privacy" in p for p in pages)
    problems = []
    for path in pages:
        page.goto(site.url(path))
        problems += violations(page)
    # States reached by acting: a form with errors, the erasure request and its page.
    page.goto(site.url(f"/{lang}/c/{site.slug}/"))
    fill_form(page, (), "Jane Doe", "jane@localhost")
    page.locator(SIGN_BUTTON).click()
    expect(page.locator("#error-summary")).to_be_visible()
    problems += violations(page)
    page.goto(site.url(f"/{lang}/privacy"))
    page.locator("#erase ~ form #email").fill(populated["erase"])
    with page.expect_navigation():
        page.locator("#erase ~ form button[type=submit]").click()
    problems += violations(page)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_every_staff_page_has_no_wcag_violations(new_page, site, populated, lang):
    page = new_page()
    page.goto(site.url(f"/language/{lang}?next=/staff/login"))
    problems = violations(page)  # the login page
    login(page, site, "admin")
    pages = crawl(page, site.base, ["/staff/"])
    expected_pages = ("/staff/moderation", "/staff/visits/N", "/builds/N", "/staff/campaigns/N",
                      "/paper/new/named", "/paper/new/counts", "/paper/N")  # fmt: skip
    for expected in expected_pages:
        assert any(expected in _shape(p) for p in pages), (expected, pages)
    assert any("/partners/N" in _shape(p) for p in pages), pages
    # Not crawled (it is under /staff/packets/, whose files are downloads): the reply form.
    for path in [*pages, populated["reply_form"]]:
        page.goto(site.url(path))
        problems += violations(page)
    # What a partner's login sees: its one page.
    partner = new_page()
    partner.goto(site.url(f"/language/{lang}?next=/staff/login"))
    partner.locator("#email").fill(PARTNER_LOGIN)
    partner.locator("#password").fill(PASSWORD)
    with partner.expect_navigation():
        partner.locator("main form button[type=submit]").click()
    assert partner.url.endswith("/staff/partner/")
    problems += violations(partner)
    assert problems == [], "\n".join(problems)


def _tab_to(page: Page, element_id: str, limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_the_signing_form_can_be_completed_with_the_keyboard_alone(new_page, site):
    page = new_page()
    page.goto(site.url(f"/en/c/{site.slug}/"))
    boxes = page.locator("#demands-fieldset input[type=checkbox]")
    ids = [boxes.nth(i).get_attribute("id") for i in range(boxes.count())]
    for box_id in ids[1:]:  # keep only the first demand
        _tab_to(page, box_id)
        page.keyboard.press("Space")
    _tab_to(page, "name")
    page.keyboard.type("Keyboard User")
    page.keyboard.press("Tab")
    address = new_address()
    page.keyboard.type(address)
    _tab_to(page, "country")
    page.keyboard.type("France")
    expect(page.locator("#country")).to_have_value("FR")
    _tab_to(page, "name_in_letters")
    page.keyboard.press("Space")
    _tab_to(page, "email")
    page.keyboard.press("Enter")  # the form's default button is "Sign"
    expect(page).to_have_url(re.compile(r"/check-email"))
    mail = site.wait_for_mail(address)
    confirm_page = site.link_in(mail, "confirm")
    page.goto(confirm_page)
    expect(page.locator("main ol li")).to_have_count(1)  # only the first demand


def test_focus_is_always_visible(new_page, site):
    page = new_page()
    page.goto(site.url(f"/en/c/{site.slug}/"))
    seen = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        style = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return [e.tagName + '#' + e.id + '.' + e.className, s.outlineStyle,
                        parseFloat(s.outlineWidth)]; }"""
        )
        name, outline, width = style
        if name.startswith("BODY"):
            break
        seen.add(name)
        assert outline != "none", name
        assert width >= 2, name
    assert len(seen) > 15  # the tour reached the form


def test_counts_and_progress_bars_have_accessible_names(new_page, site):
    page = new_page()
    page.goto(site.url(f"/zh-hans/c/{site.slug}/"))
    tally = page.get_by_role("region", name="支持者", exact=True)
    expect(tally).to_contain_text("人已签署")
    expect(page.get_by_role("progressbar", name=re.compile("目标"))).not_to_have_count(0)
    for position in range(1, 8):
        bar = page.locator(f"#demand-{position} progress")
        name = bar.get_attribute("aria-label")
        assert name
        assert str(position) in name


@pytest.mark.parametrize(
    ("size", "scale"),
    [({"width": 320, "height": 640}, 1), ({"width": 640, "height": 400}, 2)],
    ids=["320px", "zoom-200"],
)
@pytest.mark.parametrize(
    "path", ["/en/c/{slug}/", "/zh-hans/c/{slug}/", "/zh-hant/c/{slug}/", "/en/privacy"]
)
def test_text_reflows_without_horizontal_scrolling(browser, site, size, scale, path):
    # 200% zoom of a 1280 px window is a 640 px layout at twice the pixel density.
    context = browser.new_context(viewport=size, device_scale_factor=scale)
    page = context.new_page()
    page.goto(site.url(path.format(slug=site.slug)))
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    context.close()
    assert widths[0] <= widths[1], widths
