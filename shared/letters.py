"""What counts as a letter of a name, and where a joiner belongs in one: pure Unicode rules, no I/O.

Unicode's own classes (``str.isalpha``) take as letters the modifier letters and signs that write no sound of a name
alone: an apostrophe-like ``ʼ`` (U+02BC), the Arabic tatweel ``ـ`` that only stretches a line, the katakana length mark
``ー``, the ordinal indicators ``ª`` and ``º``, the letterlike symbols ``ℹ`` and ``ℓ``. A name made of them alone names
no one (tester 206 F1); within a name (Quechua ``Qʼeswa``) they are kept.
"""

from __future__ import annotations

import unicodedata

import regex

_NAME_LETTER_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lo"})
_NOT_NAME_LETTERS = frozenset("ªº")
_LETTERLIKE_SYMBOLS = range(0x2100, 0x2150)


def is_name_letter(character: str) -> bool:
    """Whether ``character`` (one code point) is a letter a name is written with: an upper-, lower- or title-case letter
    or an "other" letter (Arabic, Devanagari, CJK, Thai…), not a modifier letter, an ordinal indicator or a letterlike
    symbol (see the module)."""
    return (
        unicodedata.category(character) in _NAME_LETTER_CATEGORIES
        and character not in _NOT_NAME_LETTERS
        and ord(character) not in _LETTERLIKE_SYMBOLS
    )


def has_name_letter(text: str) -> bool:
    """Whether ``text`` holds a letter a name is written with (:func:`is_name_letter`)."""
    return any(is_name_letter(character) for character in text)


def has_name_letter_or_digit(text: str) -> bool:
    """Whether ``text`` holds a name's letter or a decimal digit (Unicode ``Nd``: ``0``-``9``, ``١``…): an OSV's name."""
    return any(is_name_letter(character) or unicodedata.category(character) == "Nd" for character in text)


_JOINING_SCRIPTS = regex.compile(
    r"[\p{Arabic}\p{Syriac}\p{Thaana}\p{Nko}\p{Mongolian}\p{Sinhala}\p{Devanagari}\p{Bengali}\p{Gurmukhi}\p{Gujarati}"
    r"\p{Oriya}\p{Tamil}\p{Telugu}\p{Kannada}\p{Malayalam}\p{Khmer}\p{Myanmar}]"
)
"""Scripts whose spelling takes a zero-width joiner or non-joiner between letters: Persian's ``علی‌رضا`` (U+200C between
the parts of a compound name), Sinhala's ``ශ්‍රී`` (U+200D), the Indic scripts' half forms."""

ZERO_WIDTH_JOINERS = frozenset("\u200c\u200d")
"""The zero-width non-joiner and joiner."""


def joiner_belongs(before: str, after: str) -> bool:
    """Whether a zero-width (non-)joiner between ``before`` and ``after`` (one character each, "" at an end) is part of
    a word's spelling: both are letters or marks of a script that uses joiners (:data:`_JOINING_SCRIPTS`). Between Latin
    letters, or at an edge, it shows as nothing and passes one name off as another."""
    return bool(before and after and _JOINING_SCRIPTS.match(before) and _JOINING_SCRIPTS.match(after))
