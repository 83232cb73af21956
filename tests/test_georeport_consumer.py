"""An independent consumer: the PyPI client ``georeport`` reads the simulator without error.

It talks to the loopback simulator only (its base URL is the simulator's), in JSON and XML.
"""

from __future__ import annotations

import pytest

from conformance.simulator import RunningSimulator

georeport = pytest.importorskip("georeport")

ABANDONED = "4ffa4c69601827691b000018"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # georeport uses plain requests.get, which honours proxy variables: keep it on loopback
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_everything(simulator: RunningSimulator, fmt: str) -> None:
    client = georeport.GeoReport(simulator.base_url, jurisdiction="cityofchicago.org",
                                 output_format=fmt)
    services = client.get_service_list()
    assert len(services) == 14
    assert {s["service_code"] for s in services} >= {ABANDONED}
    for service in services:
        definition = client.get_service_definition(service["service_code"])
        assert definition["service_code"] == service["service_code"]
        assert definition["attributes"]
    requests_ = client.get_service_requests(status="closed", service_code=ABANDONED)
    assert requests_ and all(r["status"] == "closed" for r in requests_)
    ids = [r["service_request_id"] for r in requests_[:3]]
    by_ids = client.get_service_requests(service_request_id=",".join(ids))
    assert sorted(r["service_request_id"] for r in by_ids) == sorted(ids)
    one = client.get_service_request(ids[0])
    assert one["service_request_id"] == ids[0]
    assert one["service_code"] == ABANDONED
    dated = client.get_service_requests(start_date="2000-01-01T00:00:00Z",
                                        end_date="2100-01-01T00:00:00Z")
    assert dated
