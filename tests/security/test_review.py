"""Holes found in a second attack on the trust changes, each reproduced and closed."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from campaign.extensions import db
from campaign.mail import outbox
from campaign.mail.backends import FileBackend
from campaign.mail.models import OutboxMessage
from campaign.packets import builder
from campaign.packets.models import PacketBuild
from campaign.signatures.models import Signature, SignatureDemand, Submission
from campaign.timeutil import utcnow
from campaign.tokens import LinkToken
from tests.conftest import confirm, confirm_link, deliver, mails, sign
from tests.security.test_erasure import ADDRESS, NAME, _build_packets, _erase, _files_mentioning
from tests.security.test_findings import _let_mail_interval_pass


def test_a_copy_of_the_database_holds_no_working_link(client, app, seeded):
    sign(client, seeded)
    deliver(app)
    mailed = confirm_link(mails(app)[0])
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert row.state == "sent"
        stored = row.body_text + row.body_html + row.headers
    token = mailed.rsplit("/", 1)[1]
    assert token not in stored
    stolen = re.search(r"https?://[^/\s]+(/\S*/confirm/\S+)", row.body_text).group(1)
    assert app.test_client().post(stolen).status_code == 404
    assert client.post(mailed).status_code == 303  # the mailbox's owner still can


def test_1_unsubscribe_links_are_bound_expire_and_stay_out_of_the_database(app, client, seeded):
    from tests.campaigns.test_updates import RECIPIENTS, supporters, write
    from tests.conftest import login, make_user, token_from

    make_user(app, "org@example.org", roles=("organiser",))
    login(client, "org@example.org")
    csrf = token_from(client, "/staff/")
    cid = supporters(app, RECIPIENTS[:1])
    location = write(client, csrf, cid, en=("Hello", "Body")).headers["Location"]
    client.post(location + "/send", data={"csrf_token": csrf})
    deliver(app)
    header = mails(app)[0]["List-Unsubscribe"]
    token = header.strip("<>").rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "update"))
        assert token not in row.headers + row.body_text + row.body_html
        link = db.session.get(LinkToken, row.link_token_id)
        assert link.purpose == "unsubscribe"
        lifetime = link.expires_at - link.created_at
        assert lifetime == timedelta(days=app.config["UNSUBSCRIBE_MAX_AGE_DAYS"])


def test_a_strangers_submission_never_swallows_the_owners(client, app, seeded):
    ids = seeded["demand_ids"]
    sign(client, seeded, name="J. D.", demands=[str(ids[0])], name_in_letters="")
    deliver(app)
    # The owner corrects within the interval; a stranger types the same address.
    sign(client, seeded, name="J. D.", demands=[str(ids[0]), str(ids[1])], name_in_letters="",
         display="initials")  # fmt: skip
    sign(client, seeded, name="Jane Doe", region="Lhasa", display="full", name_in_letters="y",
         demands=[str(ids[2])])  # fmt: skip
    for _ in range(2):
        _let_mail_interval_pass(app)
        deliver(app)
    bodies = [m.get_body(("plain",)).get_content() for m in mails(app)]
    assert len(bodies) == 3  # one mail per interval, each for its own details
    owners = next(b for b in bodies[1:] if "Lhasa" not in b)
    confirm(client, confirm_link(next(m for m in mails(app)[1:] if "Lhasa" not in
                                      m.get_body(("plain",)).get_content())))  # fmt: skip
    sig = _one_signature(app)
    assert (sig.name, sig.display, sig.name_in_letters, sig.region) == ("J. D.", "initials",
                                                                        False, "")  # fmt: skip
    assert "Lhasa" not in owners


def test_same_details_within_the_interval_are_folded_into_one_mail(client, app, seeded):
    ids = seeded["demand_ids"]
    sign(client, seeded, demands=[str(ids[0])])
    deliver(app)
    sign(client, seeded, demands=[str(ids[1])])
    sign(client, seeded, demands=[str(ids[2])])
    _let_mail_interval_pass(app)
    deliver(app)
    deliver(app)
    assert len(mails(app)) == 2
    with app.app_context():
        states = db.session.scalars(select(Submission.state).order_by(Submission.id)).all()
    assert states == ["pending", "merged", "pending"]


def _one_signature(app) -> Signature:
    with app.app_context():
        sig = db.session.scalar(select(Signature))
        db.session.expunge_all()
        return sig


def test_a_renamed_signer_is_checked_again(client, app, seeded):
    sign(client, seeded, name="Honest Name", email="s@example.org")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    assert _one_signature(app).state == "confirmed"
    _let_mail_interval_pass(app)
    sign(client, seeded, name="Buy at www.spam.example", email="s@example.org")
    deliver(app)
    confirm(client, confirm_link(mails(app)[-1]))
    sig = _one_signature(app)
    assert (sig.state, sig.hold_reasons) == ("held", "link_in_name")
    assert "www.spam.example" not in client.get("/en/").get_data(as_text=True)


def test_the_mail_says_when_confirming_would_change_details(client, app, seeded):
    sign(client, seeded, name="Jane Doe", name_in_letters="")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    _let_mail_interval_pass(app)
    sign(client, seeded, name="Jane Doe", name_in_letters="y")  # same demands, new consent
    deliver(app)
    body = mails(app)[1].get_body(("plain",)).get_content()
    assert "nothing changes" not in body
    assert "replace the details you gave before" in body
    _let_mail_interval_pass(app)
    sign(client, seeded, name="Jane Doe", name_in_letters="")  # exactly as stored
    deliver(app)
    assert "nothing changes" in mails(app)[2].get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "name", ["\u3164", "\u3164\u3164 \u3164", "\u115f\u1160", "\uffa0", "\u2800\u2800"]
)
def test_names_that_draw_nothing_are_refused(client, seeded, name):
    assert sign(client, seeded, name=name).status_code == 422


def test_a_mail_erased_while_being_sent_leaves_no_file(client, app, seeded):
    class EraseDuringSend(FileBackend):
        def send(self, message):
            from campaign.signatures.erasure import erase

            with app.app_context():  # another request's session
                erase("jane@example.org")
                db.session.commit()
            super().send(message)

    sign(client, seeded, name="Lin Qiaoyu")
    with app.app_context():
        outbox.deliver_due(backend=EraseDuringSend(app.config["MAIL_FILE_DIR"]))
        assert db.session.scalar(select(Signature)) is None
    assert mails(app) == []


def test_withdrawn_consent_then_erasure_leaves_no_packet(instance_app):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="y")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    _build_packets(app)
    assert any(p.startswith("packets/") for p in _files_mentioning(instance, NAME))
    _let_mail_interval_pass(app)
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="")
    deliver(app)
    confirm(client, confirm_link(mails(app)[-1]))
    _erase(client, app)
    assert _files_mentioning(instance, NAME, ADDRESS) == []


def test_erasure_during_a_running_build_removes_its_files_when_it_ends(instance_app, monkeypatch):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS, name_in_letters="y")
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    real_zip = builder.write_zip

    def zip_after_erasure(*args, **kwargs):
        from campaign.signatures.erasure import erase

        with app.app_context():  # the supporter's erasure request, meanwhile
            assert erase(ADDRESS) == 1
            db.session.commit()
        return real_zip(*args, **kwargs)

    monkeypatch.setattr(builder, "write_zip", zip_after_erasure)
    build_id = _build_packets(app)
    assert _files_mentioning(instance / "packets", NAME) == []
    with app.app_context():
        build = db.session.get(PacketBuild, build_id)
        assert build.state == "done"
        assert build.files_removed_at is not None


def test_a_checkpoint_kept_from_completing_by_a_reader_completes_at_the_purge(instance_app):
    app, instance, seeded = instance_app
    client = app.test_client()
    sign(client, seeded, name=NAME, email=ADDRESS)
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    reader = sqlite3.connect(instance / "campaign.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM signatures").fetchall()  # a long export, say
    _erase(client, app)
    assert _files_mentioning(instance, ADDRESS)  # still in the log while the read lasts
    reader.execute("COMMIT")
    reader.close()
    with app.app_context():
        from campaign.privacy import purge

        purge()
    assert _files_mentioning(instance, NAME, ADDRESS) == []


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL row locks")
def test_two_presses_at_once_confirm_once(app, seeded, monkeypatch):
    import campaign.signatures.services as services

    ids = seeded["demand_ids"]
    client = app.test_client()
    sign(client, seeded, demands=[str(ids[0])])
    deliver(app)
    confirm(client, confirm_link(mails(app)[0]))
    _let_mail_interval_pass(app)
    sign(client, seeded, demands=[str(ids[0]), str(ids[1])])
    deliver(app)
    link = confirm_link(mails(app)[1])
    arrived = threading.Barrier(2, timeout=5)
    real_check = services.tokens.well_formed

    def both_at_once(token):
        try:
            arrived.wait()  # both presses reach their UPDATE together
        except threading.BrokenBarrierError:
            pass
        return real_check(token)

    monkeypatch.setattr(services.tokens, "well_formed", both_at_once)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    statuses = []
    threads = [
        threading.Thread(target=lambda: statuses.append(app.test_client().post(link).status_code))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    with app.app_context():
        # Pressed once; the worker applies it once, however often it runs.
        assert services.apply_pressed() == 1
        assert services.apply_pressed() == 0
        assert len(db.session.scalars(select(SignatureDemand)).all()) == 2


@pytest.mark.parametrize("url", ["/staff/campaigns/3000000000", "/staff/officials/3000000000/edit"])
def test_ids_beyond_a_32_bit_column_are_404s(app, client, url):
    from tests.conftest import login, make_user

    make_user(app, "org@example.org", roles=("organiser",))
    login(client, "org@example.org")
    assert client.get(url).status_code == 404


def test_production_refuses_the_console_mail_backend(monkeypatch):
    from campaign.config import load_config

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://petition.example.org")
    monkeypatch.setenv("MAIL_BACKEND", "console")
    with pytest.raises(RuntimeError, match="console"):
        load_config("production")


@pytest.mark.parametrize(
    "line",
    [
        "GET /en/confirm%2FAbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde HTTP/1.1",
        "GET /en/%63onfirm/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde HTTP/1.1",
        "GET /en/confirm//AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde HTTP/1.1",
        'Referer: "https://x.example/zh-hant/erase/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"',
    ],
)
def test_tokens_in_odd_url_shapes_are_redacted(line):
    from campaign.logsafe import redact

    assert "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" not in redact(line)


@pytest.mark.parametrize("line", ["from 203.0.113.7.", "from 2001:db8::7.", "(198.51.100.2)."])
def test_addresses_before_a_full_stop_are_redacted(line):
    from campaign.logsafe import redact

    assert re.search(r"\d+\.\d+\.\d+|db8", redact(line)) is None


def test_stale_mail_whose_link_is_gone_is_dropped_not_sent(client, app, seeded):
    sign(client, seeded)
    with app.app_context():
        db.session.execute(update(LinkToken).values(expires_at=utcnow()))
        from campaign.tokens import purge_expired

        purge_expired()
        db.session.commit()
    deliver(app)
    assert mails(app) == []
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage)) is None
