"""What a supporter, a moderator and an organiser do in the browser, shared by the
journeys, the accessibility checks and the screenshots."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, STAFF, Site

SIGN_BUTTON = "#sign form button[type=submit]:not([name=relang])"


def new_address() -> str:
    """A mailbox nobody has used on the site yet."""
    return f"supporter-{uuid.uuid4().hex[:10]}@example.org"


def counts(page: Page) -> dict[int, int]:
    """The supporters shown under each demand, by position."""
    found = {}
    for item in page.locator("ol.demands > li").all():
        position = int(item.get_attribute("id").removeprefix("demand-"))
        figure = item.locator("p.count strong").inner_text()
        found[position] = int(re.sub(r"\D", "", figure))
    return found


def fill_form(page: Page, positions: tuple[int, ...], name: str, address: str,
              country: str = "CN", comment: str = "", named: bool = True) -> None:  # fmt: skip
    """Tick ``positions`` and type the supporter's details into the signing form."""
    boxes = page.locator("#demands-fieldset input[type=checkbox]")
    for index in range(boxes.count()):
        boxes.nth(index).set_checked(index + 1 in positions)  # all are ticked at first
    page.locator("#name").fill(name)
    page.locator("#email").fill(address)
    page.locator("#country").select_option(country)
    if comment:
        page.locator("#comment").fill(comment)
    if named:
        page.locator("#name_in_letters").check()


def sign(page: Page, site: Site, lang: str, positions: tuple[int, ...] = (1, 2),
         name: str = "Li Ming", address: str | None = None, comment: str = "") -> str:  # fmt: skip
    """Sign on the campaign page in ``lang``; the address used."""
    address = address or new_address()
    page.goto(site.url(f"/{lang}/c/{site.slug}/"))
    fill_form(page, positions, name, address, comment=comment)
    page.locator(SIGN_BUTTON).click()
    expect(page).to_have_url(re.compile(r"/check-email"))
    return address


def confirm(page: Page, site: Site, address: str) -> None:
    """Open the confirmation mail's link and press its button: the thank-you page."""
    link = site.link_in(site.wait_for_mail(address), "confirm")
    page.goto(link)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    # The thank-you page has no form: the confirmation went through.
    expect(page.locator("main form")).to_have_count(0)
    assert "/confirm/" in page.url


def wait_for_counts(page: Page, site: Site, lang: str, expected: dict[int, int]) -> dict:
    """Reload the campaign page until the demands show ``expected`` (the worker counts)."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(site.url(f"/{lang}/c/{site.slug}/"))
        shown = counts(page)
        if all(shown[p] == n for p, n in expected.items()) or time.monotonic() > deadline:
            return shown
        time.sleep(0.3)


def login(page: Page, site: Site, role: str) -> None:
    """Log in as the staff member holding ``role``."""
    page.goto(site.url("/staff/login"))
    page.locator("#email").fill(STAFF[role])
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/staff/login"))


def build_packets(page: Page, site: Site, visit_path: str) -> str:
    """Press "Build packets now" on a visit and wait, on the self-refreshing progress
    page, for the ZIP link; the build page's address."""
    page.goto(site.url(visit_path))
    page.locator("form[action$='/build'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/builds/\d+$"))
    build_url = page.url
    # Nothing here reloads: the page's own refresh must bring the result.
    expect(page.locator("a[href$='/zip']")).to_be_visible(timeout=60_000)
    return build_url


def deliver_and_reply(page: Page, summary: str, upload: Path | None = None) -> None:
    """On a build page: mark the first packet delivered, then record its official's reply."""
    first = page.locator("main section.queue-item").first
    first.locator("input[type=date]").fill("2027-03-01")
    with page.expect_navigation():
        first.locator("form button[type=submit]").click()
    page.locator("main section.queue-item").first.locator("a[href$='/reply']").click()
    page.locator("#received_on").fill("2027-03-05")
    page.locator("#how").select_option("letter")
    page.locator("#summary").fill(summary)
    if upload is not None:
        page.locator("#file").set_input_files(upload)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(summary)


def enter_paper_batch(page: Page, site: Site, rows: list[tuple[str, str, tuple[int, ...]]]) -> str:
    """As an organiser, type in named paper rows ``(name, country, demand positions)``
    with the keyboard, row by row, and save; the batch page's address."""
    page.goto(site.url("/staff/campaigns/"))
    page.locator("main a", has_text="Human Rights").first.click()
    page.locator("main a", has_text="Paper signatures").click()
    page.locator("main a[href$='/new/named']").click()
    page.locator("#collected_on").fill("2027-02-20")
    page.locator("#place").fill("Candlelight vigil")
    page.locator("#collected_by").fill("Volunteers")
    page.locator("#sheets").fill("1")
    for i, (name, country, positions) in enumerate(rows, start=1):
        page.locator(f"input[name=name-{i}]").focus()
        page.keyboard.type(name)
        page.keyboard.press("Tab")
        page.keyboard.type(country)
        page.keyboard.press("Tab")  # the city, left empty
        for position in positions:
            page.locator(f"input[name=demand-{i}][value='{position}']").press("Space")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    expect(page.locator("main h1")).to_contain_text("Paper batch")
    return page.url.removeprefix(site.base)


def add_partner(page: Page, site: Site, name: str, logo: Path | None = None,
                login_email: str | None = None) -> None:  # fmt: skip
    """As an organiser, add a partner organisation (named in letters, with ``logo``), and
    give ``login_email`` a login for it with the suite's password."""
    page.goto(site.url("/staff/campaigns/"))
    page.locator("main a", has_text="Human Rights").first.click()
    page.locator("main a", has_text="Partner organisations").click()
    page.locator("#name").fill(name)
    page.locator("#url").fill("https://partner.example.org/")
    if logo is not None:
        page.locator("#logo").set_input_files(logo)
    page.locator("#named_in_letters").check()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("[role=status]")).to_contain_text(name)
    if login_email:
        page.locator("main a", has_text=name).click()
        page.locator("#email").fill(login_email)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button", has_text="Give a login").click()
        expect(page.locator("main")).to_contain_text(login_email)
