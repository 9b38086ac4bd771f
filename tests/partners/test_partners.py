"""Partner organisations: on the page with logos served from here, one unticked consent each
on the form, a login that sees one campaign's counts and its own supporters, named in letters
only when an organiser says so."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from campaign.accounts.models import StaffUser
from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign
from campaign.extensions import db
from campaign.partners import services
from campaign.partners.models import Partner, PartnerConsent
from campaign.signatures.models import Signature
from tests.accounts.test_staff import staff_rules
from tests.conftest import (
    PASSWORD,
    SEED_SLUG,
    confirm,
    confirm_link,
    deliver,
    login,
    mails,
    post_multipart,
    sign,
    token_from,
)

SECRET = "Designer Private Name"
PAGE = f"/en/c/{SEED_SLUG}/"


def _png_with_metadata(size=(900, 300)) -> bytes:
    image = Image.new("RGB", size, "navy")
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _cid(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Campaign.id).where(Campaign.slug == SEED_SLUG))


def _post(client, url: str, data: dict, file: tuple[bytes, str] | None = None):
    body = {"csrf_token": token_from(client, "/staff/"), **data}
    if file is not None:
        body["logo"] = (io.BytesIO(file[0]), file[1])
    return post_multipart(client, url, body)


def _add(client, app, name: str, file=None, **fields):
    url = f"/staff/campaigns/{_cid(app)}/partners/"
    return _post(client, url, {"name": name, **fields}, file)


def _partner(app, name: str) -> Partner:
    with app.app_context():
        partner = db.session.scalar(select(Partner).where(Partner.name == name))
        db.session.expunge(partner)
        return partner


@pytest.fixture
def two_partners(app, client, organiser) -> dict:
    """Two partners of the seed campaign: one with a logo, named in letters; a quiet one."""
    logo = (_png_with_metadata(), "logo.png")
    added = _add(client, app, "Friends of Tibet", file=logo, url="https://friends.example.org/",
                 named_in_letters="y")  # fmt: skip
    assert added.status_code == 303
    assert _add(client, app, "Quiet Network").status_code == 303
    return {"loud": _partner(app, "Friends of Tibet"), "quiet": _partner(app, "Quiet Network")}


def _signer(client, app, seeded, email: str, partners: list[int], confirm_it=True) -> None:
    before = len(mails(app))
    assert sign(client, seeded, email=email, name=email.split("@")[0],
                partners=[str(p) for p in partners]).status_code == 303  # fmt: skip
    deliver(app)
    if confirm_it:
        [message] = [m for m in mails(app)[before:] if str(m["To"]) == email]
        confirm(client, confirm_link(message))
        deliver(app)


def _my_link(app, email: str) -> str:
    """The path of the private page link in the first mail to ``email``."""
    mail = next(m for m in mails(app) if str(m["To"]) == email)
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/[a-z-]+/my/[A-Za-z0-9_-]+)", text).group(1)


def _partner_login(client, app, partner: Partner, email="staff@partner.example.org"):
    with app.app_context():
        services.give_login(db.session.get(Partner, partner.id), email, PASSWORD, None)
        db.session.commit()
    return login(client, email)


def _export(client) -> list[dict]:
    token = token_from(client, "/staff/partner/")
    response = client.post("/staff/partner/supporters.csv", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_partners_show_on_the_page_with_their_logo_served_from_here(app, client, two_partners):
    html = client.get(PAGE).get_data(as_text=True)
    loud = two_partners["loud"]
    assert "Friends of Tibet" in html
    assert "Quiet Network" in html
    assert 'href="https://friends.example.org/" rel="noopener noreferrer external"' in html
    src = re.search(r'<img src="(/partners/\d+/logo\?v=[0-9a-f]+)"', html).group(1)
    logo = client.get(src)
    assert logo.status_code == 200
    assert logo.mimetype == "image/png"
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    assert SECRET.encode() not in logo.data  # the designer's name stayed behind
    with Image.open(io.BytesIO(logo.data)) as image:
        assert max(image.size) == services.LOGO_MAX_SIDE  # scaled down, never hot-linked
    logo.close()
    assert "friends.example.org/logo" not in html
    assert loud.logo_type == "image/png"
    assert loud.named_in_letters is True
    assert two_partners["quiet"].named_in_letters is False


def test_a_bad_logo_or_link_is_refused_and_nothing_is_stored(app, client, organiser):
    gif = b"GIF89a" + b"\x00" * 40
    refused = _add(client, app, "Bad Logo", file=(gif, "logo.png"))
    assert refused.status_code == 422
    assert "PNG or JPEG" in refused.get_data(as_text=True)
    broken = _add(client, app, "Broken", file=(b"\x89PNG\r\n\x1a\nnot really", "x.png"))
    assert broken.status_code == 422
    assert "could not be read" in broken.get_data(as_text=True)
    script = _add(client, app, "Script Link", url="javascript:alert(1)")
    assert script.status_code == 422
    assert "https://" in script.get_data(as_text=True)
    assert _add(client, app, "\u202eReversed").status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Partner)) is None
    assert not list((Path(app.config["UPLOAD_DIR"]) / "partners").glob("*.part"))


def test_the_form_offers_each_partner_separately_and_never_ticked(app, client, two_partners):
    html = client.get(PAGE).get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="partners"[^>]*>', html)
    assert len(boxes) == 2
    assert not any("checked" in box for box in boxes)
    assert "Friends of Tibet may write to me" in html
    assert "receives your name, e-mail address, country and region or city" in html
    # The same in Chinese, and after a refused submission the choice is kept as typed.
    assert "Friends of Tibet" in client.get(f"/zh-hans/c/{SEED_SLUG}/").get_data(as_text=True)


def test_a_partner_not_of_this_campaign_is_refused_on_the_form(app, client, seeded, two_partners):
    response = sign(client, seeded, partners=["999999"])
    assert response.status_code == 422
    assert "Please choose among the organisations listed." in response.get_data(as_text=True)


def test_consent_counts_once_confirmed_and_only_for_the_partner_chosen(
    app, client, seeded, two_partners
):
    loud, quiet = two_partners["loud"], two_partners["quiet"]
    _signer(client, app, seeded, "both@example.org", [loud.id, quiet.id])
    _signer(client, app, seeded, "quiet@example.org", [quiet.id])
    _signer(client, app, seeded, "none@example.org", [])
    _signer(client, app, seeded, "pending@example.org", [loud.id], confirm_it=False)
    with app.app_context():
        assert services.consent_counts(_cid(app)) == {loud.id: 1, quiet.id: 2}
    # The confirmation mail says what the supporter agreed to.
    mail = next(m for m in mails(app) if str(m["To"]) == "pending@example.org")
    text = mail.get_body(("plain",)).get_content()
    assert "Partner organisations that may write to you" in text
    assert "Friends of Tibet" in text

    organiser_client = client
    organiser_client.post("/staff/logout", data={"csrf_token": token_from(client, "/staff/")})
    partner_client = app.test_client()
    assert _partner_login(partner_client, app, loud).headers["Location"].endswith("/staff/partner/")
    rows = _export(partner_client)
    assert [r["email"] for r in rows] == ["both@example.org"]  # not the unconfirmed one
    assert set(rows[0]) == set(services.EXPORT_HEADER)
    assert "comment" not in rows[0]
    assert "affiliation" not in rows[0]
    with app.app_context():
        [event] = db.session.scalars(
            select(ModerationEvent).where(ModerationEvent.action == "partner_export")
        ).all()
        assert "both@example.org" not in (event.details or "")


def test_signing_again_without_ticking_withdraws_the_consent_once_confirmed(
    app, client, seeded, two_partners
):
    loud = two_partners["loud"]
    _signer(client, app, seeded, "mind@example.org", [loud.id])
    _signer(client, app, seeded, "mind@example.org", [], confirm_it=False)
    with app.app_context():
        # A stranger typing the address changes nothing until the owner confirms.
        assert services.consent_counts(_cid(app)) == {loud.id: 1}


def test_a_partner_login_sees_its_page_and_nothing_else(app, client, seeded, two_partners):
    client.post("/staff/logout", data={"csrf_token": token_from(client, "/staff/")})
    partner_client = app.test_client()
    _partner_login(partner_client, app, two_partners["quiet"])
    page = partner_client.get("/staff/partner/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Quiet Network" in html
    assert "Friends of Tibet" not in html
    token = token_from(partner_client, "/staff/partner/")
    allowed = {"partner_portal.home", "partner_portal.supporters", "staff.logout",
               "staff.password", "staff.login"}  # fmt: skip
    checked = 0
    for endpoint, url, method in staff_rules(app):
        if endpoint in allowed:
            continue
        data = {"csrf_token": token} if method == "POST" else None
        response = partner_client.open(url, method=method, data=data)
        assert response.status_code == 403, (endpoint, method)
        checked += 1
    assert checked > 40
    # Every view open to partners is one of the four above: deny by default.
    open_to_partners = {
        e
        for e, v in app.view_functions.items()
        if "partner" in (getattr(v, "allowed_roles", None) or ())
    }
    assert open_to_partners == allowed - {"staff.login"}


def test_a_login_whose_partner_is_gone_sees_nothing(app, client, seeded, two_partners):
    quiet = two_partners["quiet"]
    other = app.test_client()
    _partner_login(other, app, quiet)
    assert other.get("/staff/partner/").status_code == 200
    token = token_from(client, f"/staff/campaigns/{_cid(app)}/partners/{quiet.id}")
    removed = client.post(f"/staff/campaigns/{_cid(app)}/partners/{quiet.id}/remove",
                          data={"csrf_token": token})  # fmt: skip
    assert removed.status_code == 303
    assert other.get("/staff/partner/").status_code in (302, 303)  # logged out: deactivated
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email.like("%partner%")))
        assert user.active is False
        assert user.partner_id is None
        assert db.session.get(Partner, quiet.id) is None


def test_staff_roles_cannot_be_given_to_a_partner_login_and_partner_role_not_to_staff(
    app, client, two_partners
):
    with app.app_context():
        user = services.give_login(db.session.get(Partner, two_partners["loud"].id),
                                   "p@partner.example.org", PASSWORD, None)  # fmt: skip
        db.session.commit()
        from campaign.accounts import services as accounts

        with pytest.raises(accounts.AccountError):
            accounts.set_roles(user, ["admin"])
        with pytest.raises(accounts.AccountError):
            accounts.create_user("x@example.org", PASSWORD, ["partner"])


def test_the_supporter_withdraws_a_partner_on_their_own_page(app, client, seeded, two_partners):
    loud, quiet = two_partners["loud"], two_partners["quiet"]
    _signer(client, app, seeded, "own@example.org", [loud.id, quiet.id])
    link = _my_link(app, "own@example.org")
    page = client.get(link).get_data(as_text=True)
    assert re.search(rf'name="partners" id="partners-{loud.id}" value="{loud.id}" checked', page)
    data = client.get(link + "/data.json").get_json()
    assert data["signature"]["partners_who_may_write"] == ["Friends of Tibet", "Quiet Network"]
    changed = client.post(link + "/choices", data={"display": "full", "name_in_letters": "y",
                                                   "partners": [str(quiet.id)]})  # fmt: skip
    assert changed.status_code == 303
    with app.app_context():
        assert services.consent_counts(_cid(app)) == {quiet.id: 1}
        event = db.session.scalar(
            select(ModerationEvent).where(ModerationEvent.action == "supporter_changed_choices")
        )
        assert "partner_ids" in event.details
        assert "own@example.org" not in event.details
    # Erasing takes the consents with the signature.
    with app.app_context():
        from campaign.signatures.erasure import erase

        erase("own@example.org")
        db.session.commit()
        assert db.session.scalar(select(PartnerConsent)) is None
        assert db.session.scalar(select(Signature).where(Signature.email == "own@example.org")) \
            is None  # fmt: skip


def _built_letters(app, while_queued=None) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """Build the test visit's packets as the worker would (``while_queued`` runs between
    queueing and building); the build's partner names and each letter's text."""
    from campaign.packets import builder
    from campaign.packets.models import PacketBuild
    from campaign.visits.models import Visit
    from tests.packets.helpers import add_people, add_visit, pdf_text

    with app.app_context():
        campaign = db.session.get(Campaign, _cid(app))
        add_people(campaign)
        visit = add_visit(campaign)
        db.session.commit()
        build = builder.create_build(db.session.get(Visit, visit.id), None)
        db.session.commit()
        if while_queued is not None:
            while_queued()
            db.session.commit()
        builder.run_build(build.id)
        db.session.expire_all()
        build = db.session.get(PacketBuild, build.id)
        assert build.state == "done", build.error
        folder = builder.build_dir(build)
        texts = [pdf_text((folder / p.id / "letter.pdf").read_bytes()) for p in build.packets]
        return build.partner_names, texts


def test_letters_name_only_the_partners_marked_for_letters(app, two_partners):
    names, letters = _built_letters(app)
    assert names == ["Friends of Tibet"]
    assert any("Together with Friends of Tibet" in text for text in letters)
    assert not any("Quiet Network" in text for text in letters)


def test_a_build_names_the_partners_as_they_were_when_it_was_queued(app, two_partners):
    def mark_quiet() -> None:  # changed while the build waits for the worker
        db.session.get(Partner, two_partners["quiet"].id).named_in_letters = True

    names, letters = _built_letters(app, while_queued=mark_quiet)
    assert names == ["Friends of Tibet"]
    assert not any("Quiet Network" in text for text in letters)


def test_an_organiser_changes_and_removes_a_logo_and_the_change_is_audited(
    app, client, two_partners
):
    loud = two_partners["loud"]
    url = f"/staff/campaigns/{_cid(app)}/partners/{loud.id}"
    assert client.get(url).status_code == 200
    with app.app_context():
        path = services.logo_path(db.session.get(Partner, loud.id))
    assert path.is_file()
    done = _post(client, url, {"name": "Friends of Tibet", "url": "", "remove_logo": "y"})
    assert done.status_code == 303
    assert not path.exists()
    assert "/logo?v=" not in client.get(PAGE).get_data(as_text=True)
    assert client.get(f"/partners/{loud.id}/logo").status_code == 404
    with app.app_context():
        event = db.session.scalar(
            select(ModerationEvent).where(ModerationEvent.action == "partner_changed")
        )
        assert "logo_removed" in event.details


def test_only_organisers_manage_partners(app, client, seeded, two_partners):
    from tests.conftest import make_user

    make_user(app, "mod@example.org", roles=("moderator",))
    moderator = app.test_client()
    login(moderator, "mod@example.org")
    assert moderator.get(f"/staff/campaigns/{_cid(app)}/partners/").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/partners/{two_partners['quiet'].id}/logo").status_code == 404


def test_a_partner_login_meets_the_visitors_form_limit(app, client, two_partners, monkeypatch):
    # Staff are exempt from the default form limit; a partner's login is someone else's.
    other = app.test_client()
    _partner_login(other, app, two_partners["quiet"])
    monkeypatch.setitem(app.config, "LIMIT_FORMS_PER_ADDRESS", "2 per hour")
    for _ in range(2):
        assert other.post("/en/erase/not-a-token").status_code == 404
    assert other.post("/en/erase/not-a-token").status_code == 429


def test_no_consent_exists_before_the_owner_confirms(app, client, seeded, two_partners):
    _signer(client, app, seeded, "stranger-typed@example.org", [two_partners["loud"].id],
            confirm_it=False)  # fmt: skip
    with app.app_context():
        assert db.session.scalar(select(PartnerConsent)) is None


def test_a_refused_withdrawal_shows_the_choices_as_stored(app, client, seeded, two_partners):
    quiet = two_partners["quiet"]
    _signer(client, app, seeded, "keeps@example.org", [quiet.id])
    link = _my_link(app, "keeps@example.org")
    refused = client.post(link + "/withdraw", data={"demand": "999999"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(rf'id="partners-{quiet.id}" value="{quiet.id}" checked', html)
    assert re.search(r'<input [^>]*checked id="name_in_letters"', html)


def test_a_draft_campaigns_logo_shows_to_organisers_only(app, client, two_partners):
    loud = two_partners["loud"]
    with app.app_context():
        db.session.get(Campaign, _cid(app)).state = "draft"
        db.session.commit()
    assert app.test_client().get(f"/partners/{loud.id}/logo").status_code == 404
    staff_copy = client.get(f"/staff/campaigns/{_cid(app)}/partners/{loud.id}/logo")
    assert staff_copy.status_code == 200
    assert staff_copy.mimetype == "image/png"
    staff_copy.close()
    edit = client.get(f"/staff/campaigns/{_cid(app)}/partners/{loud.id}").get_data(as_text=True)
    assert f"/staff/campaigns/{_cid(app)}/partners/{loud.id}/logo?v=" in edit


def test_another_campaigns_url_does_not_reach_a_partner(app, client, two_partners):
    with app.app_context():
        other = Campaign(slug="other", title="Other", organisation="Org", body="", state="open")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    loud = two_partners["loud"]
    token = token_from(client, "/staff/")
    base = f"/staff/campaigns/{other_id}/partners/{loud.id}"
    assert client.get(base).status_code == 404
    assert client.get(base + "/logo").status_code == 404
    assert client.post(base + "/remove", data={"csrf_token": token}).status_code == 404
    assert client.post(base + "/logins", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Partner, loud.id) is not None


def test_a_partner_form_without_its_token_is_refused(app, client, two_partners):
    url = f"/staff/campaigns/{_cid(app)}/partners/"
    assert post_multipart(client, url, {"name": "No Token"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Partner).where(Partner.name == "No Token")) is None


def test_a_formula_in_a_supporters_name_is_text_in_the_partners_export(
    app, client, seeded, two_partners
):
    quiet = two_partners["quiet"]
    before = len(mails(app))
    sign(client, seeded, email="formula@example.org", name="=HYPERLINK(1)",
         partners=[str(quiet.id)])  # fmt: skip
    deliver(app)
    [message] = [m for m in mails(app)[before:] if str(m["To"]) == "formula@example.org"]
    confirm(client, confirm_link(message))
    deliver(app)
    other = app.test_client()
    _partner_login(other, app, quiet)
    [row] = _export(other)
    assert row["name"] == "'=HYPERLINK(1)"
