"""List pagination (default page size 10, next_page_token) and search filters, through the client."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cml_mlops.cml import CmlClient
from cml_mlops.cml.emulator import CmlEmulator, EmulatorState
from cml_mlops.cml.emulator.state import paginate
from tests.cml.conftest import PROJECT


def _make_jobs(client: CmlClient, n: int) -> list[str]:
    return [client.create_job({"name": f"job-{i:02d}", "script": "s.py"}, PROJECT)["id"] for i in range(n)]


def test_pages_of_ten_by_default_and_iterate_follows_tokens(client: CmlClient, emulator: CmlEmulator) -> None:
    ids = _make_jobs(client, 25)
    first = client.list_jobs(PROJECT)
    assert len(first["jobs"]) == 10 and first["next_page_token"]
    before = client.request_count
    assert [j["id"] for j in client.iterate(client.list_jobs, PROJECT)] == ids
    assert client.request_count - before == 3
    tokens = [r.query.get("page_token") for r in emulator.requests_for("list_jobs")[1:]]
    assert tokens[0] is None and all(tokens[1:])
    # Later pages re-send the same page size and filter.
    got = list(client.iterate(client.list_jobs, PROJECT, page_size=4, search_filter={"name": "job-1"}))
    assert [j["name"] for j in got] == [f"job-1{i}" for i in range(10)]
    later = emulator.requests_for("list_jobs")[-1].query
    assert later["page_size"] == "4" and later["search_filter"] == '{"name": "job-1"}' and later["page_token"]


def test_search_filter_is_contains_on_text_and_exact_on_others(client: CmlClient) -> None:
    client.create_job({"name": "train-demo", "script": "t.py"}, PROJECT)
    client.create_job({"name": "score", "script": "s.py", "paused": True}, PROJECT)
    assert [j["name"] for j in client.list_jobs(PROJECT, search_filter={"name": "demo"})["jobs"]] == ["train-demo"]
    assert [j["name"] for j in client.list_jobs(PROJECT, search_filter={"paused": True})["jobs"]] == ["score"]
    assert client.list_jobs(PROJECT, search_filter='{"creator.username": "emul"}')["next_page_token"] == ""
    assert len(client.list_jobs(PROJECT, search_filter={"creator.username": "emul"})["jobs"]) == 2
    runtimes = client.list_runtimes(search_filter={"kernel": "Python 3.12", "editor": "Workbench"})["runtimes"]
    assert len(runtimes) == 1 and "python3.12" in runtimes[0]["image_identifier"]


def test_sort_descending(client: CmlClient) -> None:
    _make_jobs(client, 3)
    assert [j["name"] for j in client.list_jobs(PROJECT, sort="-name")["jobs"]] == ["job-02", "job-01", "job-00"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 40), size=st.integers(1, 15))
def test_pages_partition_the_items(n: int, size: int) -> None:
    items = [{"id": str(i)} for i in range(n)]
    seen: list[dict[str, str]] = []
    token = ""
    while True:
        page = paginate(items, {"page_size": str(size), "page_token": token}, "things")
        assert len(page["things"]) <= size
        seen += page["things"]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == items


def test_iterate_stops_on_a_repeated_token() -> None:
    import pytest

    from cml_mlops.cml import CmlApiError

    def looping(**_: object) -> dict[str, object]:
        return {"things": [1], "next_page_token": "same"}

    with pytest.raises(CmlApiError, match="repeated page token"):
        list(CmlClient.iterate(looping))


def test_state_is_independent_per_emulator() -> None:
    assert EmulatorState().jobs == {}


def test_concurrent_clients_each_get_their_own_objects(emulator: CmlEmulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.cml.conftest import API_KEY

    def create(worker: int) -> list[str]:
        with CmlClient(emulator.url, API_KEY, environ={}) as own:  # one client (Session) per thread
            return [own.create_job({"name": f"w{worker}-{i}", "script": "s.py"}, PROJECT)["id"] for i in range(5)]

    with ThreadPoolExecutor(4) as pool:
        created = [job_id for ids in pool.map(create, range(4)) for job_id in ids]
    with CmlClient(emulator.url, API_KEY, environ={}) as reader:
        listed = [j["id"] for j in reader.iterate(reader.list_jobs, PROJECT)]
    assert len(set(created)) == 20 and sorted(listed) == sorted(created)
