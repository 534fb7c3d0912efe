"""JSON columns of the read models are read with orjson, and still read what only the standard library reads."""

from __future__ import annotations

import json

from shared.views import json_loads


def test_json_columns_read_integers_past_64_bits_as_the_standard_library_does() -> None:
    text = json.dumps({"count": 2**70, "amount": "1500.00", "nested": [1, 2.5, None, "ñ"]})
    assert json_loads(text) == json.loads(text) == {"count": 2**70, "amount": "1500.00", "nested": [1, 2.5, None, "ñ"]}
    assert json_loads(text.encode()) == json.loads(text)
