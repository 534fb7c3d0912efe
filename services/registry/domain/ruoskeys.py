"""How RUOS numbers are compared: the key two typings of one number share (:func:`ruos_number_key`).

Pure, no I/O. Staff type one number many ways (``RUOS N.º 077-2021-MDSJL/GDS``,
``ruos n. 77 2021 mdsjl gds``, ``R. U. O. S. 0901``); the claim on a number
(:class:`~services.registry.domain.ruos.RUOSNumberIndex`) is keyed by this
module's key, so every typing of one number meets the same claim.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

_ORDINAL_SIGNS = "º°ª˚ᵒ⁰∘\u030a\u0366"
"""What staff type, or paste, after ``N`` for the number sign: the ordinal indicators ``º`` (``ª`` on the same key of a
Spanish keyboard, shifted) and the degree sign ``°`` typed for one, and their look-alikes pasted from word processors
and PDFs: ring above ``˚`` (U+02DA) and its combining form (U+030A), superscript ``ᵒ`` (U+1D52), superscript zero ``⁰``
(U+2070), ring operator ``∘`` (U+2218), combining small ``o`` (U+0366)."""

_NUMBER_SIGN_ORDINAL = re.compile(r"[Nn][.\s]*[" + _ORDINAL_SIGNS + r"]\.?")
"""``N`` with one of :data:`_ORDINAL_SIGNS` (``Nº``, ``N.º``, ``N°``, ``N °.``, ``N˚``): the number sign, read ``NO``,
glued to the letters before it too (``RUOSNº0905``, tester 221 F4): the ``º`` after the ``N`` writes the sign."""

_ORDINALS = "º°ª˚ᵒ"
"""Ordinal indicators, the degree sign and their spacing look-alikes: elsewhere than after ``N``, separators (``1º`` is
``1``). A combining one is a mark, dropped with the others; ``⁰`` elsewhere is the digit it reads as."""

NUMBER_SIGNS = frozenset({"N", "NO", "NR", "NRO", "NROS", "NUM", "NUMERO"})
"""Words for "number" staff type before one (``N.º``, ``Nº``, ``N°``, ``No.``, ``Nro.``, ``Nros.``, ``Núm.``, ``n.``…), as compared
(marks dropped: ``Núm.`` is ``NUM``): not a part of the number when a part of digits follows."""


_GLUED_NUMBER_SIGN = re.compile("(?:" + "|".join(sorted(NUMBER_SIGNS - {"N"}, key=len, reverse=True)) + r")(?=[0-9])")
"""A word of :data:`NUMBER_SIGNS` glued to the digits it numbers (``Nro0905``, ``No0905``); not ``N`` (``N0905`` is a series)."""

_THOUSANDS = re.compile(r"(?<![0-9])(?<![0-9]\.)[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?![0-9]|\.[0-9])")
"""Digits grouped by thousands with dots (``1.234``, ``12.345.678``): one to three digits not led by a zero, then
groups of exactly three, among no other digits and dots (not ``2022.123``, ``012.345``, ``1.234.5``)."""

_THOUSANDS_BY_COMMAS = re.compile(r"(?<![0-9])(?<![0-9][.,])[1-9][0-9]{0,2}(?:,[0-9]{3})+(?![0-9]|[.,][0-9])")
"""Digits grouped by thousands with commas (``1,235``, ``12,345,678``), by :data:`_THOUSANDS`'s rule, among no other
digits, dots or commas (not ``2022,123``, ``077,2021``, ``12,3456``, ``1,234.5``); read after the dots'."""

_SPACED_DOT = re.compile(r"\.\s+")


def _is_part_char(char: str) -> bool:
    """A letter (of any script) or a digit: what a number's parts are made of."""
    return char.isalnum()


def _without_marks(text: str) -> str:
    """``text`` with its letters' accents and other combining marks dropped (canonical decomposition, NFD): ``Ó`` is
    ``O``, ``Ñ`` is ``N``, ``Ü`` is ``U``; a mark with no letter before it is dropped as well."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.category(char).startswith("M")))


def ruos_number_parts(ruos_number: str) -> list[str]:
    """The parts of an RUOS number as compared (see :func:`ruos_number_key`)."""
    text = _NUMBER_SIGN_ORDINAL.sub(" NO ", ruos_number)
    text = "".join(" " if char in _ORDINALS else char for char in text)
    text = _without_marks(unicodedata.normalize("NFKC", text).upper())
    text = _THOUSANDS.sub(lambda digits: digits[0].replace(".", ""), text)
    text = _THOUSANDS_BY_COMMAS.sub(lambda digits: digits[0].replace(",", ""), text)
    runs = ["".join(run) for _, run in itertools.groupby(text, key=_is_part_char)]
    if runs and not _is_part_char(runs[0][0]):
        runs.insert(0, "")
    tokens = _unglued([(part, after) for part, after in itertools.zip_longest(runs[::2], runs[1::2], fillvalue="") if part])
    parts: list[str] = []
    dotted: list[bool] = []  # whether a "." follows each part (``n. 77``: the sign written as one)
    for index, (part, after) in enumerate(tokens):
        if index and _joins(tokens, index - 1):
            parts[-1] += part  # R.U.O.S. and R. U. O. S. are RUOS
        else:
            parts.append(part)
            dotted.append(False)
        dotted[-1] = after.startswith(".")
    kept = [part for index, part in enumerate(parts) if not _number_sign(parts, dotted, index)]
    return [(part.lstrip("0") or "0") if part.isascii() and part.isdigit() else part for part in kept]


def _unglued(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``tokens`` (each part with the separator after it) with a number sign glued to the digits of the first part that
    has any (``NRO0905``) split off it, as if written ``Nro. 0905``; a part after the number began is kept whole."""
    for index, (part, after) in enumerate(tokens):
        if _has_digit(part):
            if (sign := _GLUED_NUMBER_SIGN.match(part)) is None:
                return tokens
            return [*tokens[:index], (sign[0], "."), (part[sign.end():], after), *tokens[index + 1:]]
    return tokens


def _single_letter(part: str) -> bool:
    return len(part) == 1 and part.isalpha()


def _joins(tokens: list[tuple[str, str]], index: int) -> bool:
    """Whether the part after ``tokens[index]`` is joined to it in one abbreviation: both single letters, the first
    followed by a bare ``.`` (``R.U.O.S``, ``S.J.L``), or by a ``.`` and spaces when the second has its ``.`` too
    (``R. U. O. S.``, ``R. G.``; in ``N. A-0904`` the ``A`` has none), unless the second is an ``N.`` right before the
    number, its sign, spaced or not (``R. U. O. S. N. 0901``, ``R.U.O.S.N. 0907``, ``R.G.N. 123``: tester 221 F3)."""
    (part, after), (following, its_after) = tokens[index], tokens[index + 1]
    if not (_single_letter(part) and _single_letter(following)):
        return False
    if following == "N" and its_after.startswith(".") and _right_before_number([token for token, _ in tokens], index + 1):
        return False
    return after == "." or (_SPACED_DOT.fullmatch(after) is not None and its_after.startswith("."))


def _has_digit(part: str) -> bool:
    return any(char.isdigit() for char in part)


def _right_before_number(parts: list[str], index: int) -> bool:
    """Whether ``parts[index]`` comes before the number begins (no part with a digit before it) and right before it: the
    next part has a digit, or is a series letter before one (``Nº A-0904``)."""
    if any(_has_digit(p) for p in parts[:index]):
        return False
    after = parts[index + 1:index + 3]
    if after and _has_digit(after[0]):
        return True
    return len(after) == 2 and _single_letter(after[0]) and _has_digit(after[1])


def _number_sign(parts: list[str], dotted: list[bool], index: int) -> bool:
    """Whether ``parts[index]`` is a number sign: one of :data:`NUMBER_SIGNS` right before the number begins
    (:func:`_right_before_number`); a lone ``N`` only when written as a sign, with a ``.``, ``º``, ``°``… (``n. 77``,
    ``N. 77``, ``N° 77``): ``RUOS N-0901`` and ``RUOS N 0901`` are an N series, another number than ``RUOS 0901``, and
    ``RUOS 0903-N-2022`` than ``RUOS 0903-2022`` (tester 215 F1, helper 213)."""
    part = parts[index]
    if part not in NUMBER_SIGNS or (part == "N" and not dotted[index]):
        return False
    return _right_before_number(parts, index)


def ruos_number_key(ruos_number: str) -> str:
    """The form under which RUOS numbers are compared: its parts without case, each of digits alone without its leading
    zeros, joined by one ``-``. The number kept and shown is the one typed. Step by step:

    - ``N`` followed by ``º``, ``°`` (the degree sign, typed for it), ``ª`` (``º`` shifted, on one key of a Spanish
      keyboard) or a look-alike pasted for them (``˚``, ``ᵒ``, ``⁰``, ``∘``, a combining ring or ``o``:
      :data:`_ORDINAL_SIGNS`, tester 221 F4) with dots or spaces between or none is the number sign ``NO``: ``N.º``,
      ``Nº``, ``N°``, ``N °``, ``N˚`` are one; elsewhere ``º``, ``°``, ``ª``, ``˚`` and ``ᵒ`` are separators;
    - full-width and other compatibility forms are the plain ones (Unicode NFKC: ``０１`` is ``01``, ``№`` is ``No``), and
      case does not count;
    - nor do accents: a letter's marks are dropped (Unicode NFD, combining marks left out), ``Ó`` is ``O``, ``Ñ`` is
      ``N``, and a key keeps no mark, not even one typed alone (tester 221 F3, F4). Staff type ``Resolucion``, ``Brena``
      as often as ``Resolución``, ``Breña``, and systems with plain-letter fields write ``Ñ`` as ``N``. An RUOS number's
      letters are acronyms (``RUOS``, ``MDSJL``, ``GDS``), series letters and the words of a resolution's title: its
      digits and year tell two numbers apart, and an accent never does; ``Ñ`` against ``N`` alone would only with a
      series ``Ñ`` beside a series ``N`` of the same digits in one RUOS, while the same number typed with and without
      its ``Ñ`` is an everyday slip, so ``Ñ`` is folded too;
    - digits grouped by thousands with dots are one run of digits: ``1.234`` is ``1234``, ``12.345.678`` is ``12345678``
      (one to three digits not led by a zero, then groups of exactly three; tester 215 F2). Any other dot between digits
      separates: ``2022.123`` (four digits before it: a year and a number), ``012.345``, ``1.23``, ``1.234.5``, ``1. 234``;
    - so are digits grouped by thousands with commas, by the same rule: ``1,235`` is ``1235`` (tester 221 F4), while
      ``RUOS,077,2021`` (led by a zero), ``12,3456``, ``2022,123`` and ``1,234.5`` are parts. Both ways of grouping
      thousands are in use in Peru (``1,235`` as in prices, ``1.235`` as in Spanish), and a comma between digits is
      never a decimal comma here: an RUOS number counts registrations, a whole number, and its parts (an entry, a
      year, a resolution's number) are whole numbers too, so a comma between digits either groups thousands or
      separates two parts; a run of commas and digits fits only one of the two, as a dot's does;
    - the parts are the runs of letters (of any script, accents dropped) and digits; any run of anything else is
      one separator, whatever it is: spaces, dashes of any kind (‐, –, —, −: a number copied from a resolution's PDF),
      ``/``, ``.``, ``,``, ``·``, ``_``, ``#``, ``:``…; a dash is never a thousands separator (``RUOS 12-2022`` is not
      ``RUOS 1-22022``);
    - single letters each written with its dot are one part, an abbreviation, with or without spaces after the dots:
      ``R.U.O.S.`` and ``R. U. O. S.`` are ``RUOS``, ``R. G.`` is ``RG``, ``S.J.L`` is ``SJL``, ``N.o`` is ``NO`` (a bare
      dot joins the letter after it even without its own dot; after a dot and spaces the next letter needs its dot:
      ``N. A-0904`` is the sign and the series ``A``). Single letters without dots are parts (``R G``, ``R-G`` are
      ``R-G``, not ``RG``);
    - a number sign (``NO``, ``NR``, ``NRO``, ``NROS``, ``NUM``, ``NUMERO``, so ``Núm.`` and ``Número`` too, and ``N``
      written with a ``.``) before the number begins and right before it (a part with a digit, or a series letter and one) is dropped:
      ``N.º 077``, ``Nº 077``, ``No. 077``, ``Nro. 077``, ``n. 77`` are ``77``, ``Nº A-0904`` is ``A-904``; so is one of
      those words glued to the number's first digits (``Nro0905``, ``No0905`` are ``905``: tester 215 F2), a sign with
      its ``º`` glued to the letters before it (``RUOSNº0905`` is ``RUOS-905``), and an ``N.`` ending an abbreviation
      right before the number, spaced or not (``R. U. O. S. N. 0901``, ``R.U.O.S.N. 0901`` and ``R.U.O.S.N.0901`` are
      ``RUOS-901``, ``R.G.N. 123`` is ``RG-123``: tester 221 F3, F4);
    - the ``N`` is the sign only written as one, with a ``.``, ``º``, ``°`` or their look-alikes after it: ``RUOS N. 0901``
      and ``RUOS n.0901`` are ``RUOS 0901``. An ``N`` followed by anything else (``RUOS N-0901``, ``RUOS N 0901``, ``RUOS N/0901``, glued:
      ``RUOS N0901``) or after the number began (``RUOS 0903-N-2022``) is a part of the number, an N series
      (:func:`_number_sign`, tester 215 F1, helper 213): municipalities number series by letter, and a dash or a space
      is how a series letter is written, a dot how an abbreviation is;
    - a part of digits alone loses its leading zeros (``0101`` is ``101``, ``000`` is ``0``); a part of letters and
      digits keeps them (``0A1``).

    So ``RUOS N.º 077-2021-MDSJL/GDS``, ``RUOS Nº 077-2021-MDSJL/GDS``, ``RUOS N° 077-2021-MDSJL/GDS`` and
    ``ruos n. 77 2021 mdsjl gds`` are all ``RUOS-77-2021-MDSJL-GDS`` (tester 212 F1); ``R.U.O.S. 0901``,
    ``R. U. O. S. 0901``, ``RUOS-0901``, ``RUOS,0901`` and ``RUOS·0901`` are ``RUOS-901``; ``RUOS-SJL-2026-0101``,
    ``RUOS SJL 2026 101``, ``ruos/sjl/2026/0101`` and ``RUOS–SJL–2026–0101`` are ``RUOS-SJL-2026-101`` (tester 133 F5,
    tester 208 F5); ``RUOS 1.234-2022`` and ``RUOS 1,234-2022`` are ``RUOS-1234-2022``. A part is not split further: ``PAC 0122026`` is another
    number than ``PAC 012-2026``, ``SJL2026`` than ``SJL-2026``, ``RUOS 12 Nro5`` (a sign after the number began) than
    ``RUOS 12 Nro. 5``."""
    return "-".join(ruos_number_parts(ruos_number))


def legacy_ruos_number_key(ruos_number: str) -> str:
    """How numbers were compared before claims named their municipality (case and spacing only): the ids of the claims
    stored then, keyed by the number alone, derive from it (:meth:`RUOSNumberIndex.lima_wide_id`)."""
    return " ".join(ruos_number.split()).upper()
