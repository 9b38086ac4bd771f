"""Organisers write, translate, preview, open, close and archive campaigns."""

import re

import pytest

from campaign.audit import ModerationEvent
from campaign.campaigns.models import Campaign, Demand
from campaign.extensions import db
from tests.conftest import (
    confirm,
    confirm_link,
    deliver,
    mails,
    sign,
)

FIELDS = {
    "slug": "free-the-lawyers",
    "source_locale": "en",
    "title": "Free the lawyers",
    "organisation": "Rights Org",
    "published_on": "2026-11-01",
    "goal": "500",
    "body": "They defend others.[^1] <script>alert(1)</script> [bad](javascript:alert(1))",
    "footnotes": "[^1]: A source, <https://example.org/report>",
    "media_contacts": "- Press: +1 555 0100",
    "outcome": "",
}


def create(client, token, **overrides):
    data = dict(FIELDS, csrf_token=token, **overrides)
    return client.post("/staff/campaigns/new", data=data)


def campaign_id(app, slug="free-the-lawyers"):
    with app.app_context():
        return db.session.scalar(db.select(Campaign.id).where(Campaign.slug == slug))


def add_demand(client, token, cid, title, text="Full text."):
    return client.post(
        f"/staff/campaigns/{cid}/demands", data={"title": title, "text": text, "csrf_token": token}
    )


def set_state(client, token, cid, state):
    return client.post(f"/staff/campaigns/{cid}/state", data={"state": state, "csrf_token": token})


def demand_ids(app, cid):
    with app.app_context():
        return db.session.scalars(
            db.select(Demand.id).where(Demand.campaign_id == cid).order_by(Demand.position)
        ).all()


@pytest.fixture
def draft(app, client, organiser, seeded):
    assert create(client, organiser).status_code == 303
    cid = campaign_id(app)
    for title in ("Release them", "Stop torture", "Open trials"):
        add_demand(client, organiser, cid, title)
    return cid


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "Bad Slug!"}, "lower-case letters"),
        ({"slug": "us-china-human-rights-2011"}, "Another campaign uses this address."),
        ({"title": ""}, "This field is required."),
        ({"goal": "-5"}, "A number from 0 up."),
        ({"body": "bad \x00 char"}, "cannot be stored"),
    ],
)
def test_editor_validates(app, client, organiser, seeded, overrides, message):
    response = create(client, organiser, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Campaign).count() == 1  # only the seed: nothing was written


def test_draft_is_private_but_previewable_in_each_language(app, client, draft):
    public = app.test_client()
    assert public.get("/en/c/free-the-lawyers/").status_code == 404
    assert "free-the-lawyers" not in public.get("/api/v1/campaigns").get_data(as_text=True)
    for lang in ("en", "zh-hans", "zh-hant"):
        page = client.get(f"/staff/campaigns/{draft}/preview/{lang}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Free the lawyers" in html
        assert 'class="note" role="status"' in html


def test_markdown_is_sanitised_and_footnotes_render(app, client, draft):
    html = client.get(f"/staff/campaigns/{draft}/preview/en").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "javascript:" not in html
    assert 'href="#fn:1"' in html
    assert 'href="https://example.org/report"' in html


def test_reorder_retire_and_delete_demands(app, client, organiser, draft):
    first, second, third = demand_ids(app, draft)
    client.post(
        f"/staff/campaigns/{draft}/demands/{third}", data={"op": "up", "csrf_token": organiser}
    )
    assert demand_ids(app, draft) == [first, third, second]
    client.post(
        f"/staff/campaigns/{draft}/demands/{second}", data={"op": "delete", "csrf_token": organiser}
    )
    assert demand_ids(app, draft) == [first, third]
    client.post(
        f"/staff/campaigns/{draft}/demands/{first}",
        data={
            "op": "edit",
            "title": "Release them now",
            "text": "New text.",
            "csrf_token": organiser,
        },
    )
    with app.app_context():
        assert db.session.get(Demand, first).title == "Release them now"
        assert [d.position for d in db.session.get(Campaign, draft).demands] == [1, 2]


def test_a_signed_demand_is_retired_never_deleted(app, client, organiser, draft):
    set_state(client, organiser, draft, "open")
    first, second, _ = demand_ids(app, draft)
    seeded_like = {"slug": "free-the-lawyers", "demand_ids": [first, second]}
    public = app.test_client()
    sign(public, seeded_like)
    deliver(app)
    confirm(public, confirm_link(mails(app)[0]))
    response = client.post(
        f"/staff/campaigns/{draft}/demands/{first}", data={"op": "delete", "csrf_token": organiser}
    )
    assert "can be retired, not deleted" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    client.post(
        f"/staff/campaigns/{draft}/demands/{first}", data={"op": "retire", "csrf_token": organiser}
    )
    page = public.get("/en/c/free-the-lawyers/").get_data(as_text=True)
    assert f'value="{first}"' not in page  # no longer signable
    assert "no longer open for signing" in page
    api = public.get("/api/v1/campaigns/free-the-lawyers").json
    assert {d["id"]: d["signatures"] for d in api["demands"]}[first] == 1


def test_state_transitions_and_what_the_public_sees(app, client, organiser, draft):
    public = app.test_client()
    assert set_state(client, organiser, draft, "closed").status_code == 303  # refused
    with app.app_context():
        assert db.session.get(Campaign, draft).state == "draft"
    set_state(client, organiser, draft, "open")
    assert 'name="email"' in public.get("/en/c/free-the-lawyers/").get_data(as_text=True)

    seeded_like = {"slug": "free-the-lawyers", "demand_ids": demand_ids(app, draft)}
    sign(public, seeded_like)
    deliver(app)
    confirm(public, confirm_link(mails(app)[0]))

    with app.app_context():
        db.session.get(
            Campaign, draft
        ).outcome = "The lawyers were [released](https://example.org)."
        db.session.commit()
    set_state(client, organiser, draft, "closed")
    closed = public.get("/en/c/free-the-lawyers/").get_data(as_text=True)
    assert 'name="email"' not in closed
    assert "Signing has closed" in closed
    assert 'href="#outcome"' in closed
    assert "were <a" in closed
    # A confirmation after closing does not move the frozen count.
    sign_late = sign(public, seeded_like, email="late@example.org")
    assert sign_late.status_code == 409
    assert public.get("/api/v1/campaigns/free-the-lawyers").json["state"] == "closed"
    assert public.get("/api/v1/campaigns/free-the-lawyers").json["signatures"] == 1

    set_state(client, organiser, draft, "archived")
    archive = public.get("/zh-hant/archive").get_data(as_text=True)
    assert "Free the lawyers" in archive
    assert public.get("/api/v1/campaigns/free-the-lawyers").json["state"] == "archived"
    set_state(client, organiser, draft, "closed")
    set_state(client, organiser, draft, "open")
    assert 'name="email"' in public.get("/en/c/free-the-lawyers/").get_data(as_text=True)
    with app.app_context():
        changes = db.session.scalars(
            db.select(ModerationEvent.details).where(ModerationEvent.action == "state")
        ).all()
    assert [re.search(r'"after": "(\w+)"', c).group(1) for c in changes] == [
        "open", "closed", "archived", "closed", "open"]  # fmt: skip


def test_opening_needs_a_demand(app, client, organiser, seeded):
    create(client, organiser)
    cid = campaign_id(app)
    response = set_state(client, organiser, cid, "open")
    assert "Add at least one demand" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_featured_campaign_is_the_home_page(app, client, organiser, draft):
    public = app.test_client()
    assert "U.S. Must Deliver" in public.get("/en/").get_data(as_text=True)
    set_state(client, organiser, draft, "open")
    assert "Free the lawyers" in public.get("/en/").get_data(as_text=True)  # listed as other
    client.post(f"/staff/campaigns/{draft}/feature", data={"csrf_token": organiser})
    home = public.get("/en/").get_data(as_text=True)
    assert "<h1>Free the lawyers</h1>" in home
    assert "Other open campaigns" in home
    assert "U.S. Must Deliver" in home


def test_translation_side_by_side_and_fallback(app, client, organiser, draft):
    page = client.get(f"/staff/campaigns/{draft}/translate/zh_Hans").get_data(as_text=True)
    assert "They defend others." in page  # the original beside the form
    first = demand_ids(app, draft)[0]
    client.post(
        f"/staff/campaigns/{draft}/translate/zh_Hans",
        data={
            "title": "释放律师",
            "body": "",
            f"demand-{first}-title": "释放他们",
            "csrf_token": organiser,
        },
    )
    preview = client.get(f"/staff/campaigns/{draft}/preview/zh-hans").get_data(as_text=True)
    assert "<h1>释放律师</h1>" in preview
    assert "释放他们" in preview
    assert "They defend others." in preview  # untranslated body falls back...
    assert "以英文原文显示" in preview  # ...with the note
    refused = client.post(
        f"/staff/campaigns/{draft}/translate/zh_Hans",
        data={"title": "bad\x07", "csrf_token": organiser},
    )
    assert refused.status_code == 422
    assert client.get(f"/staff/campaigns/{draft}/translate/en").status_code == 404  # the original


def test_seed_loader_never_overwrites_edits_made_in_the_editor(
    app, client, organiser, seeded, runner
):
    cid = campaign_id(app, "us-china-human-rights-2011")
    data = dict(FIELDS, slug="us-china-human-rights-2011", title="Edited", csrf_token=organiser)
    assert client.post(f"/staff/campaigns/{cid}", data=data).status_code == 303
    runner.invoke(args=["campaign", "seed"])
    with app.app_context():
        assert db.session.get(Campaign, cid).title == "Edited"
