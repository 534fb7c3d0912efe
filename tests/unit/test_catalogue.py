"""The catalogue partners read is the one the services validate against."""

from __future__ import annotations

import inspect
import json

from eventsourcing.domain import Aggregate, AggregateEvent

from devtools import catalogue as event_catalogue
from shared.events import StreamTailLost


def test_the_committed_schemas_are_the_ones_the_public_events_generate() -> None:
    for name, content in event_catalogue.expected_files().items():
        path = event_catalogue.SCHEMA_DIR / name
        assert path.exists(), f"catalogue/schemas/{name} is missing: run `make catalogue`"
        assert path.read_text("utf-8") == content, f"catalogue/schemas/{name} is stale: run `make catalogue`"


def test_the_catalogue_readme_lists_every_published_event_as_the_models_describe_it() -> None:
    readme = event_catalogue.README.read_text("utf-8")
    assert event_catalogue.expected_readme(readme) == readme, "catalogue/README.md's event table is stale: run `make catalogue`"
    for catalogue in event_catalogue.catalogues():
        for public in catalogue.public_events:
            assert f"[`{public.__name__}`]" in readme


def test_the_project_readme_lists_every_route_as_its_openapi_document_describes_it() -> None:
    readme = event_catalogue.PROJECT_README.read_text("utf-8")
    assert event_catalogue.expected_project_readme(readme) == readme, "README.md's endpoint table is stale: run `make catalogue`"
    assert "`POST /members/{member_id}/erasure`" in readme


def test_every_domain_event_of_every_service_is_published_or_declared_private() -> None:
    for catalogue in event_catalogue.catalogues():
        declared = set(catalogue.domain_events) | set(catalogue.private_events)
        modules = {inspect.getmodule(event_class) for event_class in declared}
        for module in modules:
            aggregates = [
                c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, Aggregate) and c is not Aggregate
            ]
            for aggregate in aggregates:
                for _, event_class in inspect.getmembers(aggregate, inspect.isclass):
                    if issubclass(event_class, AggregateEvent) and event_class.__qualname__.startswith(aggregate.__name__ + "."):
                        if event_class.__name__ in ("Event", "Created"):
                            continue
                        assert event_class in declared, f"{event_class.__qualname__} is neither published nor private"


def test_published_event_names_are_unique_across_services() -> None:
    names = [p.__name__ for c in event_catalogue.catalogues() for p in c.public_events if not p.every_service]
    assert len(names) == len(set(names))
    assert {"OSVMapped", "RUOSRegistered", "FundGranted", "MemberLeft"} <= set(names)
    # One model every service publishes (an accepted loss of its store's tail), the same class in each catalogue.
    shared = [{p for p in c.public_events if p.every_service} for c in event_catalogue.catalogues()]
    assert all(s == {StreamTailLost} for s in shared)


def test_the_committed_asyncapi_document_is_the_one_the_public_events_generate() -> None:
    assert event_catalogue.ASYNCAPI.read_text("utf-8") == event_catalogue.expected_asyncapi(), "catalogue/asyncapi.json is stale: run `make catalogue`"
    assert "[AsyncAPI 3.0 document](asyncapi.json)" in event_catalogue.README.read_text("utf-8")  # partners find it from the catalogue


def test_the_asyncapi_document_has_a_channel_message_and_schema_for_every_published_event() -> None:
    document = json.loads(event_catalogue.expected_asyncapi())
    for catalogue in event_catalogue.catalogues():
        for public in catalogue.public_events:
            name = public.__name__
            channel = document["channels"][f"{catalogue.service}.{name}"]
            if public.for_partners:
                assert channel["address"] == f"osv.{catalogue.service}.{{municipality}}.{name}"
            else:  # outside `osv.>`: in no partner's stream, not even the MML's (`osv.<service>.>`)
                assert channel["address"] == f"osv-programme.{catalogue.service}.{name}"
                envelope = document["components"]["schemas"][f"{name}CloudEvent"]
                assert envelope["properties"]["audience"]["const"] == "programme" and "audience" in envelope["required"]
            assert ("partner_stream" in channel["x-jetstream"]) is public.for_partners
            assert channel["x-jetstream"]["stream"] == f"OSV_{catalogue.service.upper()}"
            assert document["components"]["messages"][name]["payload"] == {"$ref": f"#/components/schemas/{name}CloudEvent"}
            assert document["components"]["schemas"][name]["properties"].keys() == public.model_json_schema()["properties"].keys()
    assert "none" in document["components"]["parameters"]["municipality"]["enum"]
    counted = document["channels"]["engagement.OSVDocumentsCounted"]
    assert counted["address"] == "osv-programme.engagement.OSVDocumentsCounted"
    assert "No partner receives it, not even the MML" in counted["description"]
    assert document["info"]["x-jetstream"]["streams"]["OSV_ENGAGEMENT"]["subjects"] == ["osv.engagement.>", "osv-programme.engagement.>"]
