"""JSON columns of the read models, and reporting's checkpoints, go through orjson, and still read and write what only the standard library does."""

from __future__ import annotations

import json

import pytest

from shared.views import json_dumps, json_loads


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
