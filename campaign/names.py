"""People's names across scripts: a sort key and the pinyin shown in English letters."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin.pinyin_dict import pinyin_dict

# CJK Unified Ideographs with extension A, compatibility ideographs and the
# supplementary planes: the characters a Chinese name is written in.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


# Tone marks (grave, acute, macron, caron) come off; the diaeresis of ü stays.
_TONES = dict.fromkeys((0x300, 0x301, 0x304, 0x30C))


@lru_cache(maxsize=32768)
def syllable(char: str) -> str:
    """The toneless pinyin of one Chinese character (its most common reading), else ``char``.

    Straight from pypinyin's character table: names are read character by character, and
    this is some fifty times faster than ``lazy_pinyin`` on a packet's thousands of names.
    """
    readings = pinyin_dict.get(ord(char))
    if not readings:
        return char
    first = readings.split(",")[0]
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", first).translate(_TONES))


def has_han(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return bool(_HAN.search(text))


def sort_key(name: str) -> str:
    """A key that sorts Latin and Chinese names together, as a reader expects.

    Chinese characters become their toneless pinyin (王 -> wang), accents are dropped
    and case is folded, so "Wang Lei", "王小明" and "Émile" fall where one looks for them.
    """
    text = unicodedata.normalize("NFKC", name).strip()
    if has_han(text):
        text = " ".join(syllable(c) if _HAN.match(c) else c for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())[:400]


def romanise(name: str) -> str:
    """Pinyin for a Chinese name written the usual way: "王小明" -> "Wang Xiaoming".

    The first character is taken as the family name. Compound family names
    (欧阳, 司马) are rare and come out as "Ou Yangming"; the characters stay beside it.
    """
    syllables = [syllable(c) for c in name if _HAN.match(c)]
    if not syllables:
        return ""
    family, given = syllables[0], "".join(syllables[1:])
    return " ".join(part.capitalize() for part in (family, given) if part)


def with_pinyin(name: str) -> str:
    """``name`` followed by its pinyin in brackets when it is written in Chinese."""
    if not has_han(name) or re.search(r"[A-Za-z]", name):
        return name  # not Chinese, or already carries a Latin spelling
    spelled = romanise(name)
    return f"{name} ({spelled})" if spelled else name
