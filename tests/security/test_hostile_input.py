"""Hostile input, systematically: arbitrary strings, lengths, encodings, repeated and missing
fields on every public form and route (hypothesis). Never a 500; a refused request leaves
no row and no mail behind.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.jobs import Job
from campaign.mail.models import OutboxMessage
from campaign.signatures.models import Signature, Submission

# Function-scoped fixtures (the app, the seed) are shared by the examples on purpose: each
# example measures what it changed. No example database: nothing is written to the tree.
# HYPOTHESIS_EXAMPLES=2000 searches harder than the suite's everyday run.
EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
SIGN_FIELDS = (
    "name", "email", "country", "region", "affiliation", "comment", "demands", "display",
    "name_in_letters", "updates", "website",
)  # fmt: skip

# Any text, including control and format characters, lone surrogates excluded (they
# cannot be encoded in a request at all); sometimes long.
text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=80),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=200, max_size=3000),
    st.sampled_from(["", " ", "\x00", "\u202e", "%00", "../..", "<script>", "'; --", "1e999",
                     "-1", "99999999999999999999", "jane@example.org", "CN", "full"]),
)  # fmt: skip
# A field is missing, given once, or repeated.
field_values = st.one_of(st.none(), text, st.lists(text, min_size=2, max_size=4))


def _rows(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Submission, Signature, OutboxMessage, Job)
        )


def _form(values: dict) -> list[tuple[str, str]]:
    pairs = []
    for name, value in values.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


def _never_a_500(response) -> None:
    from campaign.limits import limiter

    assert response.status_code < 500 or response.status_code == 503, response.status_code
    # Nor an input that makes the limiter give up (it then lets everything through).
    assert not limiter._storage_dead


@EXAMPLES
@given(values=st.fixed_dictionaries({name: field_values for name in SIGN_FIELDS}),
       valid_demands=st.booleans())  # fmt: skip
def test_the_signing_form_takes_anything_and_keeps_only_what_it_accepts(
    app, client, seeded, values, valid_demands
):
    if valid_demands:
        values["demands"] = [str(d) for d in seeded["demand_ids"]]
    before = _rows(app)
    response = client.post(
        f"/en/c/{seeded['slug']}/sign",
        data=urlencode(_form(values)),
        content_type="application/x-www-form-urlencoded",
        headers=SAME_SITE,
    )
    _never_a_500(response)
    assert response.status_code in (303, 413, 422), response.status_code
    if response.status_code != 303:
        assert _rows(app) == before  # refused: nothing stored, queued or mailed


@EXAMPLES
@given(body=st.binary(max_size=2000))
def test_a_body_in_any_encoding_is_refused_cleanly(app, client, seeded, body):
    before = _rows(app)
    response = client.post(
        f"/en/c/{seeded['slug']}/sign",
        data=body,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        headers=SAME_SITE,
    )
    _never_a_500(response)
    if response.status_code != 303:
        assert _rows(app) == before


@EXAMPLES
@given(email=field_values)
def test_the_erasure_form_takes_anything(app, client, seeded, email):
    before = _rows(app)
    response = client.post(
        "/en/privacy/erase",
        data=urlencode(_form({"email": email})),
        content_type="application/x-www-form-urlencoded",
        headers=SAME_SITE,
    )
    _never_a_500(response)
    assert response.status_code in (200, 413, 422), response.status_code
    if response.status_code != 200:
        assert _rows(app) == before


ROUTES = (
    ("GET", "/en/confirm/{}"), ("POST", "/en/confirm/{}"), ("GET", "/zh-hans/erase/{}"),
    ("POST", "/en/erase/{}"), ("GET", "/en/unsubscribe/{}"), ("POST", "/en/unsubscribe/{}"),
    ("GET", "/verify/{}"), ("GET", "/zh-hant/verify/{}"), ("GET", "/api/v1/campaigns/{}"),
    ("GET", "/en/c/{}/"), ("GET", "/{}/"), ("GET", "/{}/privacy"), ("GET", "/language/{}"),
    ("GET", "/en/c/{}/check-email"), ("POST", "/en/c/{}/sign"),
)  # fmt: skip


@EXAMPLES
@given(route=st.sampled_from(ROUTES), segment=text, query=st.dictionaries(text, text, max_size=3))
def test_every_public_route_takes_any_path_and_query(app, client, seeded, route, segment, query):
    method, pattern = route
    path = pattern.format(quote(segment, safe="")) if segment else pattern.format("x")
    if query:
        path += "?" + urlencode(query)
    before = _rows(app)
    response = client.open(path, method=method, headers=SAME_SITE)
    _never_a_500(response)
    assert _rows(app) == before  # no link, no form: nothing changes


@EXAMPLES
@given(values=st.fixed_dictionaries({"email": field_values, "password": field_values}))
def test_the_staff_login_takes_anything(app, client, values):
    response = client.post(
        "/staff/login",
        data=urlencode(_form(values)),
        content_type="application/x-www-form-urlencoded",
        headers=SAME_SITE,
    )
    _never_a_500(response)
    assert response.status_code in (400, 401, 413, 422, 429), response.status_code


@pytest.mark.parametrize("size", [64 * 1024 + 1, 1024 * 1024])
def test_an_oversize_body_on_any_public_form_is_a_413(app, client, seeded, size):
    before = _rows(app)
    for path in (f"/en/c/{seeded['slug']}/sign", "/en/privacy/erase", "/staff/login"):
        response = client.post(path, data={"comment": "x" * size}, headers=SAME_SITE)
        assert response.status_code == 413, path
    # A route that reads no body never looks at it: the link decides.
    response = client.post("/en/confirm/x", data={"comment": "x" * size}, headers=SAME_SITE)
    assert response.status_code == 404
    assert _rows(app) == before
