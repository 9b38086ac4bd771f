"""Staff accounts: deny by default, login throttling, sessions, CLI."""

import re
import time

import pytest

from campaign.accounts import services
from campaign.accounts.models import StaffUser
from campaign.audit import ModerationEvent
from campaign.extensions import db
from tests.conftest import PASSWORD, login, make_user, token_from


def staff_rules(app):
    """Every /staff/ rule with a concrete URL and its methods."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        url = re.sub(r"<(?:int:)?\w+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, url, method


def _open(client, url, method, token):
    """Open with a valid CSRF token, so only the role check can refuse."""
    data = {"csrf_token": token} if method == "POST" else None
    return client.open(url, method=method, data=data)


def test_every_staff_endpoint_refuses_anonymous_users(app, client):
    checked = 0
    token = token_from(client, "/staff/login")
    for endpoint, url, method in staff_rules(app):
        if endpoint == "staff.login":
            continue
        response = _open(client, url, method, token)
        assert response.status_code in (302, 303), (endpoint, method)
        assert "/staff/login" in response.headers["Location"]
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("role", ["organiser", "moderator"])
def test_users_without_the_role_get_403_everywhere_it_is_required(app, client, role):
    make_user(app, "someone@example.org", roles=(role,))
    login(client, "someone@example.org")
    token = token_from(client, "/staff/")
    for endpoint, url, method in staff_rules(app):
        view = app.view_functions[endpoint]
        allowed = getattr(view, "allowed_roles", None)
        if getattr(view, "anonymous_ok", False) or (allowed and role in allowed):
            continue
        response = _open(client, url, method, token)
        assert response.status_code == 403, (endpoint, method)


def test_a_view_without_a_declaration_is_refused_to_everyone(app, client):
    make_user(app)
    login(client)
    view = app.view_functions["staff.dashboard"]
    saved = view.allowed_roles
    try:
        del view.allowed_roles
        assert client.get("/staff/").status_code == 403
    finally:
        view.allowed_roles = saved


def test_moderator_cannot_reach_user_management(app, client):
    make_user(app, "mod@example.org", roles=("moderator",))
    login(client, "mod@example.org")
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/users").status_code == 403


def test_login_failure_is_generic_and_success_reaches_dashboard(app, client):
    make_user(app)
    wrong = login(client, password="wrong password!")
    unknown = login(client, email="nobody@example.org", password="wrong password!")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).count("do not match") == 1
    ok = login(client)
    assert ok.status_code == 303
    assert client.get("/staff/").status_code == 200


def test_login_is_throttled_per_account(app, client):
    make_user(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert login(client, password="wrong password!").status_code == 401
    # Even the right password is refused while throttled.
    assert login(client).status_code == 429


def test_a_lock_holds_only_for_the_address_that_failed_and_is_audited(app, client):
    make_user(app)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] + 3):
        login(attacker, password="wrong password!")
    assert login(attacker).status_code == 429  # the right password, from there: refused
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.5"
    assert login(owner).status_code == 303  # the owner, from elsewhere, gets in
    assert owner.get("/staff/").status_code == 200
    with app.app_context():
        events = db.session.scalars(
            db.select(ModerationEvent).where(ModerationEvent.action == "login_locked")
        ).all()
        user = db.session.scalar(db.select(StaffUser))
        [event] = events  # one lock, not one per refused try
        assert event.object_id == str(user.id)
        assert "203.0.113.66" not in event.details


def test_a_lock_on_an_unknown_account_is_audited_too(app, client):
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        login(client, email="nobody@example.org", password="wrong password!")
    assert login(client, email="nobody@example.org", password="x" * 12).status_code == 429
    with app.app_context():
        [event] = db.session.scalars(
            db.select(ModerationEvent).where(ModerationEvent.action == "login_locked")
        ).all()
        assert event.object_id == "unknown"
        assert "nobody" not in event.details


def test_login_is_throttled_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 3)
    for n in range(3):
        login(client, email=f"guess{n}@example.org", password="wrong password!")
    assert login(client, email="other@example.org", password="x" * 12).status_code == 429


def test_session_ends_after_inactivity(app, client):
    make_user(app)
    login(client)
    with client.session_transaction() as session:
        session["staff_seen"] = int(time.time()) - app.config["STAFF_SESSION_MINUTES"] * 60 - 5
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_session_cookie_flags(app, client):
    make_user(app)
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_changed_password_ends_other_sessions(app):
    make_user(app)
    first, second = app.test_client(), app.test_client()
    login(first)
    login(second)
    token = token_from(first, "/staff/password")
    response = first.post(
        "/staff/password",
        data={"current": PASSWORD, "new": "a new long password", "confirm": "a new long password",
              "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 303
    assert first.get("/staff/").status_code == 200
    assert second.get("/staff/").status_code == 302


def test_deactivated_user_is_logged_out(app, client, runner):
    make_user(app)
    login(client)
    result = runner.invoke(args=["users", "deactivate", "admin@example.org"])
    assert "Deactivated" in result.output
    assert client.get("/staff/").status_code == 302
    assert login(client).status_code == 401


def test_logout_requires_post_with_csrf(app, client):
    make_user(app)
    login(client)
    assert client.post("/staff/logout").status_code == 400  # no CSRF token
    token = token_from(client, "/staff/")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/staff/").status_code == 302


def test_cli_create_reads_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "Ann@Example.org", "--role", "moderator", "--role", "organiser"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "moderator, organiser" in result.output
    listing = runner.invoke(args=["users", "list"]).output
    assert "ann@example.org\tmoderator,organiser\tactive" in listing
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser))
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash


def test_cli_refuses_short_passwords_and_unknown_roles(app, runner):
    short = runner.invoke(
        args=["users", "create", "a@example.org", "--role", "admin"], input="short\n"
    )
    assert short.exit_code != 0
    assert "at least 12" in short.output
    bad_role = runner.invoke(
        args=["users", "create", "a@example.org", "--role", "king"], input=PASSWORD
    )
    assert bad_role.exit_code != 0


def test_cli_set_roles_is_audited(app, runner):
    make_user(app, "ann@example.org", roles=("moderator",))
    result = runner.invoke(args=["users", "set-roles", "ann@example.org", "--role", "organiser"])
    assert "ann@example.org: organiser." in result.output
    with app.app_context():
        actions = db.session.scalars(db.select(ModerationEvent.action)).all()
    assert actions == ["create", "set_roles"]


def test_admin_creates_user_and_changes_roles_in_the_browser(app, client):
    make_user(app)
    login(client)
    token = token_from(client, "/staff/users")
    response = client.post(
        "/staff/users",
        data={"email": "new@example.org", "password": PASSWORD, "roles": ["moderator"],
              "csrf_token": token},
    )  # fmt: skip
    assert response.status_code == 303
    bad = client.post(
        "/staff/users",
        data={"email": "x@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "Choose at least one role." in bad.get_data(as_text=True)
    with app.app_context():
        new_id = db.session.scalar(
            db.select(StaffUser.id).where(StaffUser.email == "new@example.org")
        )
    client.post(f"/staff/users/{new_id}/roles", data={"roles": ["organiser"], "csrf_token": token})
    client.post(f"/staff/users/{new_id}/active", data={"active": "0", "csrf_token": token})
    with app.app_context():
        user = db.session.get(StaffUser, new_id)
        assert user.roles == {"organiser"}
        assert user.active is False


def test_staff_pages_are_not_cached_or_indexed(app, client):
    response = client.get("/staff/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"].startswith("noindex")


def test_language_switch_on_staff_pages_returns_to_the_page(client):
    response = client.get("/language/zh-hant?next=/staff/login")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/login"
    assert "lang=zh_Hant" in response.headers["Set-Cookie"]
    evil = client.get("/language/en?next=//evil.example/")
    assert evil.headers["Location"] == "/"


def test_purge_deletes_login_attempts_older_than_a_day(app, client, runner):
    from datetime import timedelta

    from campaign.accounts.models import LoginAttempt
    from campaign.timeutil import utcnow

    login(client, email="nobody@example.org", password="wrong password!")
    with app.app_context():
        db.session.add(LoginAttempt(account_key="k" * 64, ip_hash="h" * 64,
                                    at=utcnow() - timedelta(days=2)))  # fmt: skip
        db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert "and 1 old login attempts" in result.output
    with app.app_context():
        assert db.session.query(LoginAttempt).count() == 1  # today's attempt stays


def test_the_self_deactivation_and_current_password_rules_live_in_the_service(app):
    make_user(app)
    with app.app_context():
        user = services.find_user("admin@example.org")
        with pytest.raises(services.AccountError, match="yourself"):
            services.set_active(user, False, actor=user)
        with pytest.raises(services.WrongPassword):
            services.change_own_password(user, "not the password", "a new long password")
        services.change_own_password(user, PASSWORD, "a new long password")
        services.set_active(user, False)  # from the command line: no actor
        db.session.commit()
        assert user.active is False
