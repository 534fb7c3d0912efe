"""A store restored without its keys, or given other ones: the service refuses to start, naming the file and the setting.

Tester 245 followed README's "Restoring a backup" as an operator and left a
key file behind. Engagement without its ``master.key`` made a new one, said
``ok`` on ``/health`` and answered 500 to every read and registration (F1),
with the new file where the real one had to go back; without its
``keys/engagement-index.key`` it found no registered document and registered
a person twice, without a word (F2). Now a store that holds data sealed under
a key, started without that key or with another, refuses to start with one
error line naming the file to put back and the setting to set, never a key;
no key is made. A fresh store makes its keys as before.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from services.engagement.bootstrap import IndexKeyMissingError, IndexKeyWrongError
from services.engagement.personaldata import DataKey, IndexKeyCheck
from shared.errors import StartupRefusedError
from shared.keychecks import MasterKeyMissingError, MasterKeyWrongError
from shared.sealing import WRAPPING_PURPOSE, KeyRing, MasterKey, key_engine
from shared.views import make_engine
from tests.integration.test_engagement_api import map_osv
from tests.support.api import created, look_up, ok
from tests.support.clients import NATS_OUT_OF_REACH, application_of, service_client, settings_for
from tests.support.processes import service_process

pytestmark = pytest.mark.timeout(180)

A_PERSON = {"full_name": "Yusmary Cordero Palacios", "document_type": "CE", "document_number": "001234567", "nationality": "VE",
            "sex": "F", "joined_on": "2024-03-01", "birth_year": 1991}


def another_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def refused_start(
    service: str, var_dir: Path, database_url: str | None, caplog: pytest.LogCaptureFixture, refusal: type[StartupRefusedError], **settings: Any
) -> str:
    """Start ``service``: it must refuse with ``refusal``, in one error line; that line."""
    caplog.clear()
    with caplog.at_level(logging.ERROR), pytest.raises(refusal) as refused:
        with service_client(service, var_dir, database_url, settings=settings):
            pass
    assert errors_logged(caplog) == [str(refused.value)]
    return str(refused.value)


def registered(var_dir: Path, database_url: str | None) -> dict[str, Any]:
    """Engagement on a fresh store, one person registered in an OSV it heard of: the registration's answer."""
    with service_client("engagement", var_dir, database_url) as client:
        return created(client.post("/members", json={**A_PERSON, "osv_id": map_osv(client)}))


def stream_checked(client: TestClient) -> TestClient:
    """As if the stream's erasures were checked (NATS is out of reach here, and it holds none): personal data is read."""
    application_of(client).erasures_checked.set()
    return client


def put_away(path: Path, elsewhere: Path) -> None:
    elsewhere.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, elsewhere)


def keys_of(text: str, *keys: Path) -> None:
    """No key is ever written in a refusal."""
    for key in keys:
        if key.exists():
            assert key.read_text().strip() not in text


# The master key -------------------------------------------------------------------------------------------------


def test_engagement_restored_without_its_master_key_refuses_to_start_and_makes_no_key(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var"
    member = registered(var, database_url)
    master_file = var / "engagement" / "master.key"
    put_away(master_file, tmp_path / "kept" / "master.key")

    message = refused_start("engagement", var, database_url, caplog, MasterKeyMissingError)
    assert str(master_file) in message and "ENGAGEMENT_MASTER_KEY" in message and "data keys" in message
    assert not master_file.exists(), "a new key sits where the real one must go back"
    keys_of(message, tmp_path / "kept" / "master.key")

    # Given another key, by its setting or in its file: refused, saying which was given.
    message = refused_start("engagement", var, database_url, caplog, MasterKeyWrongError, master_key=another_key())
    assert "ENGAGEMENT_MASTER_KEY gives" in message and str(master_file) in message
    master_file.write_text(another_key() + "\n")
    message = refused_start("engagement", var, database_url, caplog, MasterKeyWrongError)
    assert f"the master key in {master_file}" in message and "ENGAGEMENT_MASTER_KEY" in message
    keys_of(message, master_file)

    # The real one put back: as before.
    shutil.move(tmp_path / "kept" / "master.key", master_file)
    with service_client("engagement", var, database_url) as client:
        read = stream_checked(client).get(f"/members/{member['id']}", params={"purpose": "contact"})
        assert (read.status_code, read.json()["full_name"]) == (200, A_PERSON["full_name"])


def test_engagement_whose_key_table_is_empty_still_refuses_a_missing_or_wrong_key_for_its_sealed_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every event is sealed by the store's cipher, under the master key: a store whose people were all erased needs it too."""
    var = tmp_path / "var"
    registered(var, None)
    settings = settings_for("engagement", var)
    engine = make_engine(settings.key_url())
    with engine.begin() as connection:
        connection.execute(delete(DataKey))
    engine.dispose()
    master_file = var / "engagement" / "master.key"
    put_away(master_file, tmp_path / "kept" / "master.key")

    message = refused_start("engagement", var, None, caplog, MasterKeyMissingError)
    assert "holds events sealed" in message and str(master_file) in message
    assert not master_file.exists()
    refused_start("engagement", var, None, caplog, MasterKeyWrongError, master_key=another_key())


@pytest.mark.parametrize("service", ["registry", "funding"])
def test_a_service_sealing_staff_text_refuses_to_start_without_the_master_key_its_keys_are_wrapped_under(
    tmp_path: Path, service: str, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var"
    with service_client(service, var) as client:
        assert client.get("/health").status_code == 200
    settings = settings_for(service, var)
    master_file = settings.master_key_file
    engine = key_engine(settings.key_url(), make_engine(settings.view_url()))
    KeyRing(engine, MasterKey.from_text(master_file.read_text()).subkey(WRAPPING_PURPOSE)).key_for_sealing(uuid4())  # a note's key
    engine.dispose()
    put_away(master_file, tmp_path / "kept" / "master.key")

    message = refused_start(service, var, None, caplog, MasterKeyMissingError)
    assert str(master_file) in message and f"{service.upper()}_MASTER_KEY" in message
    assert not master_file.exists()
    refused_start(service, var, None, caplog, MasterKeyWrongError, master_key=another_key())
    shutil.move(tmp_path / "kept" / "master.key", master_file)
    with service_client(service, var) as client:
        assert client.get("/health").status_code == 200


def test_a_fresh_store_makes_its_keys_as_before(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with service_client("engagement", var) as client:
        assert client.get("/health").status_code == 200
    assert (var / "engagement" / "master.key").exists() and (var / "keys" / "engagement-index.key").exists()
    (var / "keys" / "engagement-index.key").unlink()  # an index with no entry: nothing to find again, a new key is made
    (var / "engagement" / "master.key").unlink()  # a store with no event and no key
    with service_client("engagement", var) as client:
        assert client.get("/health").status_code == 200
    assert (var / "engagement" / "master.key").exists() and (var / "keys" / "engagement-index.key").exists()


def test_an_engagement_process_without_its_master_key_exits_with_one_line_saying_which_file(tmp_path: Path) -> None:
    """Under uvicorn, as `make run` starts it: an error line naming the file and the setting, uvicorn's start-up failure
    code (3), no traceback."""
    var = tmp_path / "var"
    registered(var, None)
    (var / "engagement" / "master.key").unlink()
    with service_process("engagement", {"ENGAGEMENT_VAR_DIR": str(var), "ENGAGEMENT_NATS_URL": NATS_OUT_OF_REACH}) as service:
        assert service.process.wait(timeout=60) == 3
        said = service.console.wait_for(r"ERROR engagement\[\d+\] shared\.web: (engagement refuses to start: .*)")
        assert "master.key is missing" in said[1] and "ENGAGEMENT_MASTER_KEY" in said[1]
        assert "Application startup failed" not in service.console.text() and "Traceback" not in service.console.text()  # the refusal alone (tester 252 F5)
    assert not (var / "engagement" / "master.key").exists()


# The document index's key -----------------------------------------------------------------------------------------


def test_engagement_restored_without_its_index_key_refuses_to_start_rather_than_register_people_twice(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var"
    member = registered(var, database_url)
    index_file = var / "keys" / "engagement-index.key"
    put_away(index_file, tmp_path / "kept" / "engagement-index.key")

    message = refused_start("engagement", var, database_url, caplog, IndexKeyMissingError)
    assert str(index_file) in message and "ENGAGEMENT_INDEX_KEY" in message and "registered again" in message
    assert not index_file.exists(), "a new key sits where the real one must go back"

    message = refused_start("engagement", var, database_url, caplog, IndexKeyWrongError, index_key=another_key())
    assert "ENGAGEMENT_INDEX_KEY gives" in message and str(index_file) in message
    index_file.write_text(another_key() + "\n")
    message = refused_start("engagement", var, database_url, caplog, IndexKeyWrongError)
    assert f"the index key in {index_file}" in message
    keys_of(message, index_file, tmp_path / "kept" / "engagement-index.key")

    shutil.move(tmp_path / "kept" / "engagement-index.key", index_file)
    with service_client("engagement", var, database_url) as client:  # the real one put back: the document is found
        assert ok(look_up(stream_checked(client), "CE", A_PERSON["document_number"]))["id"] == member["id"]
        again = client.post("/members", json={**A_PERSON, "osv_id": member["osv_id"]})
        assert again.status_code == 409, again.text


def test_an_index_made_before_its_check_value_was_kept_gets_one_from_the_key_it_is_started_with(tmp_path: Path) -> None:
    """An earlier version kept no check value: its key file, there at the first start of this one, is taken for the right
    one and its check value written, so that another key is refused from then on."""
    var = tmp_path / "var"
    registered(var, None)
    engine = make_engine(settings_for("engagement", var).key_url())
    with engine.begin() as connection:
        connection.execute(delete(IndexKeyCheck))
    engine.dispose()
    with service_client("engagement", var) as client:
        assert client.get("/health").status_code == 200
    with pytest.raises(IndexKeyWrongError), service_client("engagement", var, settings={"index_key": another_key()}):
        pass
