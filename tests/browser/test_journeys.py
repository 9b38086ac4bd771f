"""Journeys as people make them, in Chromium: public ones at phone and desktop sizes,
with JavaScript on and off; every request stays on the site (``new_page`` checks)."""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile

from PIL import Image
from playwright.sync_api import expect
from reportlab.pdfgen import canvas

from tests.browser.act import (
    SIGN_BUTTON,
    add_partner,
    build_packets,
    confirm,
    counts,
    deliver_and_reply,
    enter_paper_batch,
    fill_form,
    login,
    new_address,
    sign,
    wait_for_counts,
)
from tests.browser.conftest import PASSWORD


def test_a_supporter_signs_two_demands_in_simplified_chinese_and_the_counts_move(
    new_page, site, viewport, javascript
):
    page = new_page(viewport, javascript)
    page.goto(site.url(f"/zh-hans/c/{site.slug}/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("main h1")).to_have_text("美国必须兑现以人权为对华政策指导原则的承诺")
    before = counts(page)
    address = sign(page, site, "zh-hans", positions=(1, 2), name="李明")
    expect(page.locator("main h1")).to_contain_text("邮")  # "check your e-mail", in Chinese
    mail = site.wait_for_mail(address)
    assert "/zh-hans/confirm/" in site.link_in(mail, "confirm")
    confirm(page, site, address)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    after = wait_for_counts(page, site, "zh-hans", {1: before[1] + 1, 2: before[2] + 1})
    assert after[1] == before[1] + 1
    assert after[2] == before[2] + 1
    assert after[3] == before[3], (before, after)


def test_switching_language_half_way_keeps_what_was_typed(new_page, site, viewport, javascript):
    page = new_page(viewport, javascript)
    page.goto(site.url(f"/en/c/{site.slug}/"))
    address = new_address()
    fill_form(page, (3,), "Chen Hua", address, country="TW", comment="Solidarity")
    page.locator("#region").fill("Taipei")
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.locator("#name")).to_have_value("Chen Hua")
    expect(page.locator("#email")).to_have_value(address)
    expect(page.locator("#country")).to_have_value("TW")
    expect(page.locator("#region")).to_have_value("Taipei")
    expect(page.locator("#comment")).to_have_value("Solidarity")
    boxes = page.locator("#demands-fieldset input[type=checkbox]")
    expect(boxes.nth(2)).to_be_checked()
    expect(boxes.nth(0)).not_to_be_checked()
    expect(page.locator("#name_in_letters")).to_be_checked()
    expect(page.locator(".error-summary")).to_have_count(0)
    assert site.mails_to(address) == []  # nothing was sent, nothing stored
    page.locator(SIGN_BUTTON).click()
    expect(page).to_have_url(re.compile(r"/zh-hant/c/.+/check-email"))
    assert "/zh-hant/confirm/" in site.link_in(site.wait_for_mail(address), "confirm")


def test_a_wrong_form_shows_each_error_by_its_field_and_focuses_the_summary(
    new_page, site, viewport, javascript
):
    page = new_page(viewport, javascript)
    page.goto(site.url(f"/en/c/{site.slug}/"))
    # Valid to the browser, refused by the server: no demand ticked, an address without
    # a real domain.
    fill_form(page, (), "Jane Doe", "jane@localhost", country="FR")
    page.locator(SIGN_BUTTON).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    for field, error in (("#demands-fieldset", "#demands-error"), ("#email", "#email-error")):
        expect(page.locator(error)).to_be_visible()
        described = page.locator(field).get_attribute("aria-describedby") or ""
        assert error[1:] in described.split(), (field, described)
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    # The error sits with its field, and what was typed is still there.
    assert page.locator(".field.invalid #email-error").count() == 1
    expect(page.locator("#email")).to_have_value("jane@localhost")
    expect(page.locator("#name")).to_have_value("Jane Doe")
    # Each line of the summary leads to its field.
    page.locator("#error-summary a[href='#email']").click()
    expect(page.locator("#email")).to_be_focused()


def test_a_moderator_approves_a_comment_that_then_appears_publicly(new_page, site, viewport):
    supporter = new_page(viewport)
    comment = f"Free them all {uuid.uuid4().hex[:6]}"
    address = sign(supporter, site, "en", positions=(4,), name="Sam Lee", comment=comment)
    confirm(supporter, site, address)
    supporter.goto(site.url(f"/en/c/{site.slug}/"))
    expect(supporter.get_by_text(comment)).to_have_count(0)

    moderator = new_page(viewport)
    login(moderator, site, "moderator")
    moderator.goto(site.url("/staff/moderation?kind=comments"))
    item = moderator.locator("ol.queue > li", has_text=comment)
    deadline = time.monotonic() + 30
    while item.count() == 0 and time.monotonic() < deadline:  # the worker applies it
        time.sleep(0.3)
        moderator.reload()
    item.get_by_role("button", name="Approve comment").click()
    expect(moderator.locator("ol.queue > li", has_text=comment)).to_have_count(0)

    supporter.goto(site.url(f"/en/c/{site.slug}/"))
    expect(supporter.locator(".supporters blockquote", has_text=comment)).to_be_visible()


def test_an_organiser_prepares_a_visit_builds_its_packets_and_downloads_them(
    new_page, site, viewport
):
    page = new_page(viewport)
    login(page, site, "organiser")
    page.goto(site.url("/staff/visits/new"))
    slug = f"visit-{uuid.uuid4().hex[:8]}"
    page.locator("#slug").fill(slug)
    page.locator("#title").fill("Visit of the Foreign Minister")
    page.locator("#place").fill("Geneva")
    page.locator("#starts_on").fill("2027-03-01")
    page.locator("#ends_on").fill("2027-03-02")
    page.locator("#deadline").fill("2027-02-28")
    page.locator("fieldset", has_text="Officials addressed").locator("input").first.check()
    page.locator("#subject_zh_Hans").fill("外交部长访问")
    page.locator("main form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/staff/visits/\d+$"))
    visit_path = page.url.removeprefix(site.base)

    build_packets(page, site, visit_path)
    expect(page.locator("main")).to_contain_text("SHA-256")
    with page.expect_download() as download:
        page.locator("a[href$='/zip']").click()
    data = download.value.path().read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith("letter.pdf") for n in names), names
    assert any(n.endswith("manifest.json") for n in names), names


def test_the_progress_page_refreshes_itself_while_a_build_runs(new_page, site):
    page = new_page()
    login(page, site, "organiser")
    page.goto(site.url("/staff/visits/"))
    page.locator("main a[href*='/staff/visits/']").filter(has_text="Hu Jintao").first.click()
    html_refresh = page.locator("meta[http-equiv=refresh]")
    with site.worker_paused():
        page.locator("form[action$='/build'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/builds/\d+$"))
        # Queued: the page shows its progress, named, and says it refreshes itself.
        expect(page.get_by_role("progressbar", name="Build progress")).to_be_visible()
        expect(html_refresh).to_have_count(1)
        expect(page.locator("a[href$='/zip']")).to_have_count(0)
        expect(page.locator("main")).to_contain_text("flask --app wsgi worker")  # the real one
    # The worker goes on; nobody reloads: the page's own refresh brings the result.
    expect(page.locator("a[href$='/zip']")).to_be_visible(timeout=60_000)
    expect(html_refresh).to_have_count(0)


def test_a_supporter_erases_their_data_from_the_privacy_page(new_page, site, viewport, javascript):
    page = new_page(viewport, javascript)
    page.goto(site.url(f"/zh-hant/c/{site.slug}/"))
    start = counts(page)[5]
    address = sign(page, site, "zh-hant", positions=(5,), name="張偉")
    confirm(page, site, address)
    before = wait_for_counts(page, site, "zh-hant", {5: start + 1})[5]
    assert before == start + 1
    page.goto(site.url("/zh-hant/"))
    page.locator("footer a[href$='/privacy']").click()
    expect(page.locator("main h1")).to_have_text("隱私與您的資料")
    page.locator("#erase ~ form #email").fill(address)
    page.locator("#erase ~ form button[type=submit]").click()
    link = site.link_in(site.wait_for_mail(address, count=2), "erase")
    page.goto(link)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text("您的資料已刪除")
    after = wait_for_counts(page, site, "zh-hant", {5: before - 1})
    assert after[5] == before - 1


def test_a_supporter_changes_their_mind_on_their_own_page(new_page, site, viewport, javascript):
    page = new_page(viewport, javascript)
    page.goto(site.url(f"/zh-hant/c/{site.slug}/"))
    start = counts(page)
    address = sign(page, site, "zh-hant", positions=(6, 7), name="陳美")
    confirm(page, site, address)
    before = wait_for_counts(page, site, "zh-hant", {6: start[6] + 1, 7: start[7] + 1})
    # The thank-you page's private link, not the mail's: it works the moment it is shown.
    page.go_back()
    page.locator("main a[href*='/my/']").click()
    expect(page.locator("main h1")).to_have_text("您的簽名")
    expect(page.locator("main form button", has_text="撤回")).to_have_count(2)
    page.locator("main form button[aria-label$=' 7 項訴求撤回我的簽名']").click()
    expect(page.locator("[role=status]")).to_contain_text("不再計入")
    # One demand left: it cannot be withdrawn alone (erasing does that), and the page says so.
    expect(page.locator("main form button", has_text="撤回")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("這是您簽署的唯一一項訴求")
    page.locator("input[name=display][value=anonymous]").check()
    page.locator("#name_in_letters").uncheck()
    page.locator("main form button", has_text="儲存我的選擇").click()
    expect(page.locator("[role=status]")).to_contain_text("已儲存")
    expect(page.locator("input[name=display][value=anonymous]")).to_be_checked()
    after = wait_for_counts(page, site, "zh-hant", {6: before[6], 7: before[7] - 1})
    assert after[7] == before[7] - 1
    assert after[6] == before[6]
    assert "陳美" not in page.locator("main").inner_text()  # no longer shown by name


def test_an_organiser_records_a_reply_that_the_public_then_reads(
    new_page, site, viewport, tmp_path
):
    reply = tmp_path / "reply.pdf"
    sheet = canvas.Canvas(str(reply))
    sheet.setAuthor("Someone at the NGO")
    sheet.drawString(72, 720, "Reply of the Ministry")
    sheet.save()
    page = new_page(viewport)
    login(page, site, "organiser")
    page.goto(site.url("/staff/visits/"))
    page.locator("main a", has_text="Hu Jintao").first.click()
    build_url = build_packets(page, site, page.url.removeprefix(site.base))
    summary = f"The Secretary promised an answer within a month ({uuid.uuid4().hex[:6]})."
    deliver_and_reply(page, summary, upload=reply)
    expect(page).to_have_url(re.compile(re.escape(build_url) + "#p-"))
    page.locator("main section.queue-item").first.locator("a[href^='/verify/']").click()
    expect(page.locator("main dl")).to_contain_text("Reply")
    page.locator("main dl a", has_text="read the reply").click()
    expect(page).to_have_url(re.compile(r"/en/c/[^/]+/#reply-\d+$"))
    article = page.locator("section.replies article", has_text=summary)
    expect(article).to_be_visible()
    with page.expect_download() as download:
        article.locator("a", has_text="Download the reply").click()
    data = download.value.path().read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"Someone at the NGO" not in data  # published without its metadata


def test_an_organiser_types_in_a_paper_sheet_and_the_counts_move(new_page, site, viewport):
    page = new_page(viewport)
    page.goto(site.url(f"/en/c/{site.slug}/"))
    before = counts(page)
    login(page, site, "organiser")
    batch = enter_paper_batch(page, site, [("Lin Hua", "Taiwan", (3,)), ("Wu Ming", "hk", (3, 4))])
    expect(page.locator("main")).to_contain_text("Candlelight vigil")
    expect(page.locator("main table").last).to_contain_text("entered")  # the history
    after = wait_for_counts(page, site, "en", {3: before[3] + 2, 4: before[4] + 1})
    assert after[3] == before[3] + 2
    expect(page.locator("#demand-3 .paper")).to_contain_text("on paper")
    # The printable sheets are linked from the batches, and are PDFs.
    page.goto(site.url(batch.rsplit("/", 1)[0] + "/"))
    href = page.locator("main a", has_text="US Letter").first.get_attribute("href")
    sheet = page.request.get(site.url(href))
    assert sheet.ok
    assert sheet.headers["content-type"] == "application/pdf"
    assert sheet.body().startswith(b"%PDF-")


def test_a_supporter_chooses_a_partner_who_then_downloads_only_them(new_page, site, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (600, 200), "darkgreen").save(logo)
    organiser = new_page()
    login(organiser, site, "organiser")
    partner_login = f"staff-{uuid.uuid4().hex[:8]}@partner.example.org"
    name = f"Partner {uuid.uuid4().hex[:6]}"
    add_partner(organiser, site, name, logo=logo, login_email=partner_login)
    page = new_page(javascript=False)  # the choice needs no script
    page.goto(site.url(f"/en/c/{site.slug}/"))
    box = page.get_by_label(f"{name} may write to me")
    expect(box).not_to_be_checked()  # never ticked for the signer
    image = page.locator(".partners img").last
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") > 0  # served from the site itself
    chooser = new_address()
    fill_form(page, (1,), "Chooses Partner", chooser)
    box.check()
    page.locator(SIGN_BUTTON).click()
    expect(page).to_have_url(re.compile(r"/check-email"))
    confirm(page, site, chooser)
    other = sign(page, site, "en", positions=(1,), name="Chooses Nobody")
    confirm(page, site, other)
    partner = new_page()
    partner.goto(site.url("/staff/login"))
    partner.locator("#email").fill(partner_login)
    partner.locator("#password").fill(PASSWORD)
    partner.locator("main form button[type=submit]").click()
    expect(partner).to_have_url(re.compile(r"/staff/partner/$"))
    deadline = time.monotonic() + 30
    while "1 confirmed supporter agreed" not in partner.locator("main").inner_text():
        assert time.monotonic() < deadline, "the choice never reached the partner's page"
        time.sleep(0.3)
        partner.reload()
    with partner.expect_download() as download:
        partner.locator("main button", has_text="Download the list").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert chooser in text
    assert other not in text
    assert partner.goto(site.url("/staff/moderation")).status == 403
