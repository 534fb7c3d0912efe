"""``osv-verify --heads``: the heads an auditor saved, read back and checked before any store is (tester 224 F3, 231 F1, F4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.headsfiles import HeadsFileError, heads_from_file

HASH = "f801ac810bca6547" * 4


def saved(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "heads.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"registry@273:{HASH[:6]}", "is 6 characters, not 64 hexadecimal digits"),  # cut short in a copy
        ("registry@273:abc", "is 3 characters"),
        (f"registry@273:{HASH}00", "is 66 characters"),
        (f"registry@0:{HASH}", "a whole number from 1"),
        (f"registry@-4:{HASH}", "a whole number from 1"),
        (f"registri@273:{HASH}", "names no service of the chain"),
        (json.dumps({"heads": {"registry": {"position": 273, "hash": HASH[:10]}}}), "is 10 characters"),
        (json.dumps({"heads": {"registry": {"position": True, "hash": HASH}}}), "a whole number from 1"),
        (json.dumps({"digest": "x"}), "its JSON holds no heads"),
        (json.dumps([{"service": "registry"}]), "its JSON holds no heads"),
    ],
)
def test_a_head_mistyped_or_cut_short_is_refused_not_checked_as_tampering(tmp_path: Path, text: str, said: str) -> None:
    """Such heads were checked against the store, which said "the history up to here was rewritten" (exit 1): a false
    tamper alarm from a copy-paste slip (tester 231 F1)."""
    with pytest.raises(HeadsFileError) as refused:
        heads_from_file(saved(tmp_path, text))
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_the_chain_heads_header_is_read_as_given_out_saved_alone_or_with_the_other_headers(tmp_path: Path) -> None:
    """In either case, upper-case hex and a position written as text read as the head they name (tester 231 F4: a
    `curl -D` dump was told the heads were not in the file)."""
    expected = [("funding", 7, HASH), ("registry", 273, HASH)]
    given = [
        f"funding@7:{HASH},registry@273:{HASH.upper()}\n",
        f"HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\nChain-Heads: funding@7:{HASH}, registry@273:{HASH}\r\n\r\n",
        json.dumps([{"service": "funding", "position": "7", "hash": HASH}, {"service": "registry", "position": 273, "hash": HASH}]),
    ]
    for text in given:
        assert [(h.service, h.position, h.hash) for h in heads_from_file(saved(tmp_path, text))] == expected
