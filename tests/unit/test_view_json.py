"""JSON columns of the read models, and reporting's checkpoints, go through orjson, and still read and write what only the standard library does."""

from __future__ import annotations

import json

import pytest

from shared.views import has_long_number, json_dumps, json_loads


@pytest.mark.parametrize("number", [2**64, 2**70 + 1, -(2**63) - 1, 1180591620717411303425, 2**64 - 1, -(2**63)])
def test_json_columns_read_integers_past_64_bits_exactly_as_the_standard_library_does(number: int) -> None:
    text = json.dumps({"count": number, "amount": "1500.00", "nested": [1, 2.5, None, "ñ", "🙂"]})
    assert json_loads(text) == json.loads(text) and json_loads(text)["count"] == number
    assert type(json_loads(text.encode())["count"]) is int


@pytest.mark.parametrize("value", [{"indirect_beneficiaries": 2**64}, {"district": "Comas\ud800"}, {"n": -(2**70)}])
def test_what_orjson_refuses_to_write_is_written_by_the_standard_library(value: dict) -> None:
    assert json.loads(json_dumps(value)) == value


def test_ordinary_json_is_written_compactly_and_read_back() -> None:
    value = {"osv_id": "1d6b…", "counts": [1, 2, 3], "amount": "12.50", "name": "Asociación Señor de los Milagros"}
    assert json_loads(json_dumps(value)) == value and b" " not in json_dumps({"a": [1, 2]})


@pytest.mark.parametrize(
    ("text", "long"),
    [
        ('{"count": 9223372036854775808}', True),  # 2**63: 19 digits
        ('{"count": 922337203685477580}', False),  # 18 digits
        ('{"at": "2021-04-01T10:00:00.123456Z", "n": 1234567890}', False),  # many digits, no run of 19
        ('{"document": "12345678901234567890123"}', True),  # in a string: read by the standard library all the same
        ('{"district": "Comas\\ud800", "count": 12345678901234567890}', True),  # a lone surrogate in the text itself
    ],
)
def test_a_run_of_19_digits_is_found_in_text_and_in_bytes(text: str, long: bool) -> None:
    assert has_long_number(text) is long
    assert has_long_number(text.encode("utf-8", "surrogatepass")) is long
