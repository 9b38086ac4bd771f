"""Sign, confirm, count: the whole path a supporter takes, in each language."""

import re

import pytest

from campaign.extensions import db
from campaign.signatures.models import Signature
from tests.conftest import SEED_SLUG, confirm, confirm_link, deliver, mails, sign


@pytest.mark.parametrize(
    ("lang", "subject_word", "thanks_word"),
    [("en", "confirm", "confirmed"), ("zh-hans", "确认", "确认"), ("zh-hant", "確認", "確認")],
)
def test_sign_confirm_count_in_each_language(client, app, seeded, lang, subject_word, thanks_word):
    response = sign(client, seeded, lang=lang, name="王小明", email="Wang@Example.org ")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/{lang}/c/{SEED_SLUG}/check-email")
    check = client.get(response.headers["Location"])
    assert check.status_code == 200
    assert check.headers["X-Robots-Tag"].startswith("noindex")

    # Nothing counts before confirmation.
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 0

    deliver(app)
    [message] = mails(app)
    assert message["To"] == "wang@example.org"
    assert subject_word in message["Subject"]
    assert message.get_body(("plain",)) is not None
    html_part = message.get_body(("html",)).get_content()
    link = confirm_link(message)
    assert "/confirm/" in link
    assert link.startswith(f"/{lang}/")
    assert link in html_part

    thanks = confirm(client, link)
    assert thanks.status_code == 200
    assert thanks_word in thanks.get_data(as_text=True)
    assert thanks.headers["X-Robots-Tag"].startswith("noindex")
    assert "wang@example.org" not in thanks.get_data(as_text=True)

    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["signatures"] == 1
    assert all(d["signatures"] == 1 for d in data["demands"])
    assert data["by_country"] == {}  # one supporter: below PUBLIC_COUNTRY_MIN
    assert data["other_countries"] == 1
    page = client.get(f"/{lang}/c/{SEED_SLUG}/").get_data(as_text=True)
    assert "王小明" in page
    assert "wang@example.org" not in page


def test_confirmation_link_is_idempotent(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    link = confirm_link(mails(app)[0])
    assert confirm(client, link).status_code == 200
    assert confirm(client, link).status_code == 200
    assert client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["signatures"] == 1


def test_subset_of_demands_counts_only_those(client, app, seeded):
    first, third = seeded["demand_ids"][0], seeded["demand_ids"][2]
    sign(client, seeded, demands=[str(first), str(third)])
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    counts = {
        d["id"]: d["signatures"]
        for d in client.get(f"/api/v1/campaigns/{SEED_SLUG}").json["demands"]
    }
    assert counts[first] == 1
    assert counts[third] == 1
    assert sum(counts.values()) == 2


def test_signing_again_adds_demands_and_never_counts_twice(client, app, seeded):
    ids = seeded["demand_ids"]
    sign(client, seeded, demands=[str(ids[0])])
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))

    # Later, the same address (written differently) signs two more demands.
    sign(client, seeded, email="  JANE@example.ORG", demands=[str(ids[0]), str(ids[1])])
    deliver(app)
    assert len(mails(app)) == 1  # a second mail so soon is held back
    with app.app_context():
        sig = db.session.scalar(db.select(Signature))
        sig.mailed_at = None  # as if the interval had passed
        db.session.commit()
    sign(client, seeded, email="jane@example.org", demands=[str(ids[0]), str(ids[1])])
    deliver(app)
    assert len(mails(app)) == 2
    # Not counted until the owner of the address confirms.
    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["demands"][1]["signatures"] == 0
    confirm(client, confirm_link(mails(app)[1]))
    data = client.get(f"/api/v1/campaigns/{SEED_SLUG}").json
    assert data["signatures"] == 1
    assert [d["signatures"] for d in data["demands"][:3]] == [1, 1, 0]
    with app.app_context():
        assert db.session.query(Signature).count() == 1


def test_resigning_cannot_change_a_confirmed_signers_details(client, app, seeded):
    sign(client, seeded, name="Jane Doe")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    sign(client, seeded, name="Somebody Else", display="full")
    with app.app_context():
        assert db.session.scalar(db.select(Signature.name)) == "Jane Doe"


def test_answer_is_the_same_whether_or_not_the_address_signed(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))

    known = sign(client, seeded, email="jane@example.org")
    unknown = sign(client, seeded, email="someone-new@example.org")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert known.get_data() == unknown.get_data()
    follow_known = client.get(known.headers["Location"]).get_data(as_text=True)
    follow_unknown = client.get(unknown.headers["Location"]).get_data(as_text=True)
    assert follow_known == follow_unknown


def test_markup_in_names_is_stored_as_typed_and_escaped(client, app, seeded):
    hostile = "<script>alert('x')</script> & \"Ann\" O'Neil"
    sign(client, seeded, name=hostile, region="<b>Hong Kong</b>", affiliation="A & B")
    deliver(app)
    message = mails(app)[0]
    assert hostile in message.get_body(("plain",)).get_content()
    assert "<script>alert" not in message.get_body(("html",)).get_content()
    confirm(client, confirm_link(message))
    with app.app_context():
        sig = db.session.scalar(db.select(Signature))
        assert sig.name == hostile
        assert sig.region == "<b>Hong Kong</b>"
    page = client.get("/en/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_display_choices_on_the_public_list(client, app, seeded):
    for name, address, display in [
        ("Alice Walker", "a@example.org", "full"),
        ("Bob Marley Jones", "b@example.org", "initials"),
        ("Carol Hidden", "c@example.org", "anonymous"),
    ]:
        sign(client, seeded, name=name, email=address, display=display)
    deliver(app)
    for message in mails(app):
        confirm(client, confirm_link(message))
    page = client.get("/en/").get_data(as_text=True)
    assert "Alice Walker" in page
    assert "B. M. J." in page
    assert "Bob Marley Jones" not in page
    assert "Carol" not in page
    assert "3</strong> people have signed" in page


def test_comments_stay_hidden_until_approved(client, app, seeded):
    sign(client, seeded, comment="Free them all")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    assert "Free them all" not in client.get("/en/").get_data(as_text=True)
    with app.app_context():
        sig = db.session.scalar(db.select(Signature))
        assert sig.comment_state == "pending"
        sig.comment_state = "approved"
        db.session.commit()
    assert "Free them all" in client.get("/en/").get_data(as_text=True)


def test_network_address_is_stored_only_as_a_keyed_hash(client, app, seeded):
    import hashlib

    from campaign.security import hash_address

    sign(client, seeded)
    with app.app_context():
        sig = db.session.scalar(db.select(Signature))
        assert re.fullmatch(r"[0-9a-f]{64}", sig.ip_hash)
        assert sig.ip_hash == hash_address("127.0.0.1")
        # Keyed: not the plain hash anyone could compute from the address.
        assert sig.ip_hash != hashlib.sha256(b"127.0.0.1").hexdigest()


def test_switching_language_keeps_what_was_typed_and_stores_nothing(client, seeded, app):
    from campaign.signatures.models import Signature, Submission

    first, second = seeded["demand_ids"][:2]
    response = sign(client, seeded, lang="zh-hant", relang="1", name="王小明",
                    email="wang@example.org", comment="支持", demands=[str(first), str(second)],
                    updates="y")  # fmt: skip
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-Hant">' in html
    assert 'value="王小明"' in html
    assert 'value="wang@example.org"' in html
    assert re.search(r">\s*支持</textarea>", html)
    assert f'id="demands-{first}" value="{first}" checked' in html
    assert f'id="demands-{seeded["demand_ids"][2]}" value="{seeded["demand_ids"][2]}">' in html
    assert "error-summary" not in html  # not checked yet: the supporter has not finished
    assert re.search(r'<input checked id="updates"|id="updates"[^>]*checked', html)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Submission.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Signature.id))) == 0
    # The buttons lead to the other two languages, after "Sign" (Enter still signs).
    assert html.index('name="relang"') > html.index(">簽署</button>")
    assert f'formaction="/en/c/{seeded["slug"]}/sign#sign"' in html
    assert f'formaction="/zh-hans/c/{seeded["slug"]}/sign#sign"' in html


def test_a_wrong_form_takes_focus_to_the_error_summary(client, seeded):
    html = sign(client, seeded, email="not an address").get_data(as_text=True)
    summary = re.search(r'<div class="error-summary"[^>]*>', html).group(0)
    assert "autofocus" in summary
    # A #fragment in the form's address would stop the browser from honouring autofocus.
    assert f'<form method="post" action="/en/c/{SEED_SLUG}/sign" ' in html
    assert 'tabindex="-1"' in summary
    assert re.search(
        r'id="email"[^>]*aria-describedby="[^"]*email-error|aria-describedby="[^"]*email-error[^>]*id="email"',
        html,
    )
    assert 'id="email-error"' in html
