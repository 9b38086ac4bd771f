"""Every UI string is translated into both Chinese scripts."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _catalog(locale):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The strings the code and templates use today."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(  # noqa: S603 - fixed arguments
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--no-location", "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with open(pot, "rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_catalogue_is_complete(locale, extracted):
    catalog = _catalog(locale)
    have = {}
    for m in catalog:
        if m.id:
            key = m.id if isinstance(m.id, str) else m.id[0]
            strings = [m.string] if isinstance(m.string, str) else list(m.string)
            have[key] = (strings, m.fuzzy)
    missing = sorted(extracted - set(have))
    assert not missing, f"run `make i18n-update` and translate: {missing[:5]}"
    empty = sorted(k for k in extracted if not all(have[k][0]) or have[k][1])
    assert not empty, f"untranslated or fuzzy in {locale}: {empty[:5]}"


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_placeholders_survive_translation(locale):
    import re

    pattern = re.compile(r"%\(\w+\)[sd]")
    for m in _catalog(locale):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        want = set(pattern.findall(ids[-1]))
        for s in strings:
            assert set(pattern.findall(s)) <= want | set(pattern.findall(ids[0])), m.id


def test_english_catalogue_exists():
    assert _catalog("en") is not None
