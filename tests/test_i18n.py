"""Choosing the language: the Accept-Language matrix, the redirect, the switcher."""

import pytest

from campaign.i18n import negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-Hant-TW", "zh_Hant"),
        ("zh_TW", "zh_Hant"),
        ("fr-FR,zh-TW;q=0.8,en;q=0.5", "zh_Hant"),
        ("en;q=0.4,zh-CN;q=0.9", "zh_Hans"),
        ("de-DE,fr;q=0.9", "en"),
        ("zh-TW;q=0,en", "en"),
        ("zh-HK;q=abc", "en"),
    ],
)
def test_accept_language_matrix(header, expected):
    assert negotiate(header) == expected


@pytest.mark.parametrize(
    ("header", "target"),
    [("zh-TW,zh;q=0.9", "/zh-hant/"), ("zh-CN", "/zh-hans/"), ("en-GB", "/en/"), ("", "/en/")],
)
def test_root_redirects_by_browser_language(client, seeded, header, target):
    response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(target)
    assert "Accept-Language" in response.headers["Vary"]


def test_language_chosen_in_the_switcher_wins_over_header(client, seeded):
    chosen = client.get("/language/zh-hant?next=/zh-hant/")
    assert chosen.headers["Location"] == "/zh-hant/"
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.headers["Location"].endswith("/zh-hant/")


def test_reading_a_page_remembers_nothing(client, seeded):
    client.get("/zh-hant/")
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.headers["Location"].endswith("/en/")


def test_unknown_language_prefix_is_404(client, seeded):
    assert client.get("/fr/").status_code == 404


@pytest.mark.parametrize("lang", ["en", "zh-hans", "zh-hant"])
@pytest.mark.parametrize("page", ["", "c/us-china-human-rights-2011/", "privacy"])
def test_every_page_has_a_switcher_to_the_same_page(client, seeded, lang, page):
    html = client.get(f"/{lang}/{page}").get_data(as_text=True)
    for code in ("en", "zh-hans", "zh-hant"):
        assert f'href="/language/{code}?next=/{code}/{page}"' in html
    assert f'aria-current="page" lang="{lang}"' in html


@pytest.mark.parametrize(
    ("lang", "html_lang", "phrase"),
    [("en", "en", "Add your name"), ("zh-hans", "zh-Hans", "签"), ("zh-hant", "zh-Hant", "簽")],
)
def test_page_is_in_the_chosen_language(client, seeded, lang, html_lang, phrase):
    html = client.get(f"/{lang}/").get_data(as_text=True)
    assert f'<html lang="{html_lang}">' in html
    assert phrase in html


@pytest.mark.parametrize(("path", "html_lang"), [("/zh-hant/nope", "zh-Hant"), ("/en/x/y", "en")])
def test_not_found_page_keeps_the_urls_language(client, path, html_lang):
    response = client.get(path)
    assert response.status_code == 404
    assert f'<html lang="{html_lang}">' in response.get_data(as_text=True)
