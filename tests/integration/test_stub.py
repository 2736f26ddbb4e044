"""Tests of the stand-in Scalr server itself (tests/scalr_stub) against the API page, and of the
test helpers. They need no exporter binary."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

import helpers
from helpers import API_PATH, Usage, expected_usage, sample_data

MAIN, DEMO, TINY, EMPTY = (sample_data.ACCOUNT_MAIN, sample_data.ACCOUNT_DEMO,
                           sample_data.ACCOUNT_TINY, sample_data.ACCOUNT_EMPTY)
OCT = "between:2026-10-01T00:00:00Z,2026-10-31T23:59:59Z"


def q(account=MAIN, date=OCT, **extra):
    params = {"filter[account]": account, "filter[date]": date}
    for k, v in extra.items():
        params[{"size": "page[size]", "number": "page[number]"}.get(k, k)] = v
    return params


def fetch_all(stub, params, size=100):
    """All items of a query, following next-page; checks pagination meta on the way."""
    items, number, seen = [], 1, set()
    while True:
        r = stub.get(dict(params, **{"page[size]": size, "page[number]": number}))
        assert r.status == 200, r.body
        doc = r.json()
        p = doc["meta"]["pagination"]
        assert p["current-page"] == number and number not in seen
        seen.add(number)
        items += doc["data"]
        if p["next-page"] is None:
            assert number == p["total-pages"] or p["total-count"] == 0
            assert len(items) == p["total-count"]
            return items
        assert p["next-page"] == number + 1
        number = p["next-page"]


def by_breakdown(items):
    return {i["attributes"]["breakdown-id"]: (Usage(i["attributes"]["runs-count"],
                                                    i["attributes"]["runs-seconds"]),
                                              i["attributes"]["breakdown-name"]) for i in items}


def raw_http(port, request: bytes, timeout=5.0, close_wait=2.0):
    """Sends raw bytes, returns (status line, headers dict, body, connection_closed_after)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        f = s.makefile("rb")
        status = f.readline().decode().strip()
        headers = {}
        while (line := f.readline()) not in (b"\r\n", b""):
            k, _, v = line.decode().partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", 0))
        body = f.read(n)
        s.settimeout(close_wait)
        try:
            closed = s.recv(1) == b""
        except TimeoutError:
            closed = False
        return status, headers, body, closed


# ---- auth, validation, headers ------------------------------------------------------------------

def test_missing_or_wrong_token_is_401_jsonapi(stub):
    for token in (None, "wrong-token"):
        r = stub.get(q(), token=token)
        assert r.status == 401
        assert r.headers["content-type"] == "application/vnd.api+json"
        assert r.json()["errors"][0]["status"] == "401"
    r = stub.get(q(), headers={"Authorization": f"Token {stub.token}"})
    assert r.status == 401


def test_unknown_account_is_404(stub):
    r = stub.get(q(account="acc-doesnotexist00"))
    assert r.status == 404
    assert r.json()["errors"][0]["status"] == "404"


def test_limited_token_lacking_billing_is_404(stub_factory):
    stub = stub_factory(extra_args=["--limited-token", "limited-token-1"])
    assert stub.get(q(), token="limited-token-1").status == 404
    assert stub.get(q()).status == 200
    stub.set_token(limited_token="limited-token-2")
    assert stub.get(q(), token="limited-token-2").status == 404


@pytest.mark.parametrize("params", [
    {"filter[account]": MAIN},
    {"filter[date]": OCT},
    q(date="between:2026-10-01,2026-10-31"),
    q(date="between:2026-10-01T00:00:00+00:00,2026-10-31T23:59:59+00:00"),
    q(date="between:2026-10-01T00:00:00.000Z,2026-10-31T23:59:59Z"),
    q(date="2026-10-01T00:00:00Z,2026-10-31T23:59:59Z"),
    q(date="between:2026-10-01T00:00:00Z"),
    q(date="between:2026-13-01T00:00:00Z,2026-10-31T23:59:59Z"),
    q(date="between:2026-02-30T00:00:00Z,2026-10-31T23:59:59Z"),
    q(breakdown_by="project"),
    {"filter[date]": OCT, "breakdown_by": "account"},  # no filter[account]: control towers only
    q(account="", breakdown_by="account"),
    q(number="0"), q(size="-1"), q(number="x"),
])
def test_bad_requests_are_400(stub, params):
    r = stub.get(params)
    assert r.status == 400, r.body
    assert r.json()["errors"][0]["status"] == "400"


def test_repeated_parameter_is_400(stub):
    url = stub.api_url + "?" + urllib.parse.urlencode(q()) + "&filter%5Baccount%5D=" + DEMO
    r = helpers.http_request(url, headers={"Authorization": f"Bearer {stub.token}"})
    assert r.status == 400


def test_preference_applied_only_when_asked(stub):
    r = stub.get(q())
    assert r.headers.get("preference-applied") == "profile=preview"
    r = stub.get(q(), headers={"Prefer": ""})
    assert "preference-applied" not in r.headers
    assert r.headers["content-type"] == "application/vnd.api+json"


def test_wrong_path_and_method(stub):
    assert helpers.http_request(stub.url + "/api/iacp/v3/nothing").status == 404
    r = helpers.http_request(stub.api_url, method="POST", body={},
                             headers={"Authorization": f"Bearer {stub.token}"})
    assert r.status == 405


# ---- data semantics -------------------------------------------------------------------------------

def test_item_shape_and_stable_ids(stub):
    doc = stub.get(q(breakdown_by="workspace")).json()
    assert doc["included"] is None
    assert set(doc) == {"data", "included", "links", "meta"}
    item = doc["data"][0]
    assert set(item) == {"type", "id", "attributes", "relationships", "links"}
    assert item["type"] == "usage-statistics" and item["links"] is None
    assert set(item["attributes"]) == {"breakdown-id", "breakdown-name", "date", "runs-count",
                                       "runs-seconds"}
    assert item["relationships"] == {"account": {"data": {"id": MAIN, "type": "accounts"}}}
    assert len(item["id"]) == 64 and int(item["id"], 16) >= 0
    ids = [i["id"] for i in fetch_all(stub, q(breakdown_by="workspace"))]
    assert len(set(ids)) == len(ids)
    assert ids == [i["id"] for i in fetch_all(stub, q(breakdown_by="workspace"))]


def test_between_is_inclusive_at_both_ends(stub):
    def dates(date):
        return [i["attributes"]["date"] for i in fetch_all(stub, q(date=date))]

    exp = expected_usage("2026-10-01", "2026-11-02", accounts=[MAIN])
    assert (MAIN, dt.date(2026, 10, 1)) in exp.daily and (MAIN, dt.date(2026, 11, 1)) in exp.daily
    october = dates(OCT)
    assert october[0] == "2026-10-01" and october[-1] == "2026-10-31"
    assert "2026-11-01" not in october
    # The off-by-one a client must avoid: an end of Nov 1 00:00:00 includes Nov 1.
    assert dates("between:2026-10-01T00:00:00Z,2026-11-01T00:00:00Z")[-1] == "2026-11-01"
    assert dates("between:2026-10-01T00:00:01Z,2026-10-31T23:59:59Z")[0] == "2026-10-02"
    assert dates("between:2026-10-31T23:59:59Z,2026-11-01T00:00:00Z") == ["2026-11-01"]
    assert dates("between:2026-10-05T00:00:00Z,2026-10-05T00:00:00Z") == ["2026-10-05"]
    assert dates("between:2026-10-05T00:00:01Z,2026-10-05T23:59:59Z") == []
    assert dates("between:2026-10-31T00:00:00Z,2026-10-01T00:00:00Z") == []


def test_daily_without_breakdown_matches_raw_rows(stub):
    exp = expected_usage("2026-10-01", "2026-11-01", accounts=[MAIN])
    items = fetch_all(stub, q())
    got = {dt.date.fromisoformat(i["attributes"]["date"]):
           Usage(i["attributes"]["runs-count"], i["attributes"]["runs-seconds"]) for i in items}
    assert got == {d: u for (a, d), u in exp.daily.items()}
    assert len(got) < 31, "the sample data should have quiet days"
    assert all(i["attributes"]["breakdown-id"] is None and i["attributes"]["breakdown-name"] is None
               for i in items)
    assert [i["attributes"]["date"] for i in items] == sorted(i["attributes"]["date"] for i in items)


def test_totals_match_raw_rows_at_every_level(stub):
    for account in (MAIN, DEMO, TINY):
        exp = expected_usage("2026-10-01", "2026-11-01", accounts=[account])
        total = fetch_all(stub, q(account, total="true"))
        assert len(total) == 1 and total[0]["attributes"]["date"] is None
        assert by_breakdown(total) == {None: (exp.accounts[account], None)}
        envs = by_breakdown(fetch_all(stub, q(account, breakdown_by="environment", total="true")))
        assert envs == {e: (u, exp.environment_names[(account, e)])
                        for (a, e), u in exp.environments.items()}
        wss = by_breakdown(fetch_all(stub, q(account, breakdown_by="workspace", total="1")))
        assert wss == {w: (u, exp.workspace_names[(account, w)])
                       for (a, w), u in exp.workspaces.items()}
        assert sum((u for u, _ in wss.values()), Usage()) == exp.accounts[account]


def test_breakdown_daily_rows_match_raw_rows(stub):
    rows = list(sample_data.raw_rows(dt.date(2026, 10, 1), dt.date(2026, 10, 7), "small", [DEMO]))
    items = fetch_all(stub, q(DEMO, "between:2026-10-01T00:00:00Z,2026-10-07T23:59:59Z",
                              breakdown_by="workspace"), size=10)
    got = [(i["attributes"]["breakdown-id"], i["attributes"]["date"], i["attributes"]["runs-count"],
            i["attributes"]["runs-seconds"]) for i in items]
    want = sorted((r.workspace_id, r.date.isoformat(), r.runs_count, r.runs_seconds) for r in rows)
    assert got == want  # ordered by breakdown id, then date
    env_items = fetch_all(stub, q(DEMO, "between:2026-10-01T00:00:00Z,2026-10-07T23:59:59Z",
                                  breakdown_by="environment"))
    assert sum(i["attributes"]["runs-seconds"] for i in env_items) == sum(r[3] for r in want)
    assert all(i["attributes"]["date"] for i in env_items)


def test_hostile_names_are_served_exactly(stub):
    exp = expected_usage("2026-01-01", "2027-01-01", accounts=[MAIN])
    names = set(exp.workspace_names.values())
    for n in (sample_data.NAME_QUOTE, sample_data.NAME_BACKSLASH, sample_data.NAME_NEWLINE,
              sample_data.NAME_UTF8, sample_data.NAME_NON_BMP, None):
        assert n in names
    assert sample_data.ENV_NAME_QUOTE in exp.environment_names.values()
    date = "between:2026-01-01T00:00:00Z,2026-12-31T23:59:59Z"
    for ascii_json in (False, True):
        stub.settings(ascii_json=ascii_json)
        r = stub.get(q(date=date, breakdown_by="workspace", total="true"))
        assert r.body.isascii() == ascii_json
        served = {i["attributes"]["breakdown-name"] for i in r.json()["data"]}
        assert served == names
        envs = stub.get(q(date=date, breakdown_by="environment", total="true")).json()["data"]
        assert sample_data.ENV_NAME_QUOTE in {i["attributes"]["breakdown-name"] for i in envs}


def test_empty_account_and_empty_period(stub):
    for params in (q(EMPTY), q(EMPTY, total="true"), q(date="between:2026-10-05T00:00:01Z,"
                                                             "2026-10-05T23:59:59Z")):
        doc = stub.get(params).json()
        assert doc["data"] == []
        assert doc["meta"]["pagination"] == {"current-page": 1, "next-page": None,
                                             "prev-page": None, "total-count": 0,
                                             "total-pages": 1}


# ---- pagination ---------------------------------------------------------------------------------

def test_pagination_meta_and_links(stub):
    params = q(breakdown_by="workspace")
    all_items = fetch_all(stub, params, size=100)
    paged = fetch_all(stub, params, size=7)
    assert [i["id"] for i in paged] == [i["id"] for i in all_items]
    doc = stub.get(dict(params, **{"page[size]": 7, "page[number]": 2})).json()
    p = doc["meta"]["pagination"]
    assert p == {"current-page": 2, "next-page": 3, "prev-page": 1,
                 "total-count": len(all_items), "total-pages": math.ceil(len(all_items) / 7)}
    links = {k: urllib.parse.parse_qs(urllib.parse.urlsplit(v).query) if v else None
             for k, v in doc["links"].items()}
    assert links["self"]["page[number]"] == ["2"] and links["next"]["page[number]"] == ["3"]
    assert links["prev"]["page[number]"] == ["1"] and links["first"]["page[number]"] == ["1"]
    assert links["last"]["page[number]"] == [str(p["total-pages"])]
    assert links["next"]["page[size]"] == ["7"] and links["next"]["filter[date]"] == [OCT]
    assert doc["links"]["next"].startswith(stub.url + API_PATH + "?")
    last = stub.get(dict(params, **{"page[size]": 7, "page[number]": p["total-pages"]})).json()
    assert last["meta"]["pagination"]["next-page"] is None and last["links"]["next"] is None
    first = stub.get(dict(params, **{"page[size]": 7})).json()
    assert first["meta"]["pagination"]["prev-page"] is None and first["links"]["prev"] is None


def test_page_size_defaults_and_is_capped_at_100(stub):
    params = q(breakdown_by="workspace")
    total = stub.get(params).json()["meta"]["pagination"]["total-count"]
    assert total > 100
    for size in (None, "100", "500"):
        doc = stub.get(params if size is None else dict(params, **{"page[size]": size})).json()
        assert len(doc["data"]) == 100
        assert doc["meta"]["pagination"]["total-pages"] == math.ceil(total / 100)
    beyond = stub.get(dict(params, **{"page[number]": "999"})).json()
    assert beyond["data"] == [] and beyond["meta"]["pagination"]["next-page"] is None


# ---- faults ---------------------------------------------------------------------------------------

def test_fault_status_with_count_filter_and_retry_after(stub):
    stub.set_fault("status", status=503, count=2, account=MAIN, retry_after="1")
    r = stub.get(q(DEMO))
    assert r.status == 200
    for _ in range(2):
        r = stub.get(q())
        assert r.status == 503 and r.headers["retry-after"] == "1"
        assert r.json()["errors"][0]["status"] == "503"
    assert stub.get(q()).status == 200
    assert stub.faults() == []


def test_fault_filters_breakdown_and_page(stub):
    stub.set_fault("status", status=500, breakdown_by="workspace", page=2)
    assert stub.get(q(breakdown_by="workspace")).status == 200
    assert stub.get(q(breakdown_by="workspace", number="2")).status == 500
    assert stub.get(q(breakdown_by="environment", number="2")).status == 200
    stub.reset()
    stub.set_fault("status", status=502, breakdown_by="none")
    assert stub.get(q(breakdown_by="environment")).status == 200
    assert stub.get(q()).status == 502


def test_fault_until_reset_and_stacking(stub):
    stub.set_faults([{"mode": "status", "status": 429, "count": 1},
                     {"mode": "status", "status": 500}])
    assert [stub.get(q()).status for _ in range(3)] == [429, 500, 500]
    stub.reset()
    assert stub.get(q()).status == 200


def test_fault_bad_token_until_reset(stub):
    stub.set_fault("bad_token")
    assert [stub.get(q()).status for _ in range(3)] == [401] * 3
    stub.reset()
    assert stub.get(q()).status == 200


def test_set_token_and_reset_restores_it(stub):
    stub.set_token("new-token")
    assert stub.get(q()).status == 401
    assert stub.get(q(), token="new-token").status == 200
    stub.reset()
    assert stub.get(q()).status == 200


def test_fault_slow(stub):
    stub.set_fault("slow", seconds=0.6, count=1)
    t = time.monotonic()
    assert stub.get(q()).status == 200
    assert time.monotonic() - t >= 0.6
    stub.set_fault("slow", seconds=3, count=1)
    with pytest.raises(Exception):
        stub.get(q(), timeout=0.3)


def test_fault_truncated(stub):
    stub.set_fault("truncated", count=1)
    r = stub.get(q())
    assert r.status == 200 and r.headers["content-type"] == "application/vnd.api+json"
    assert int(r.headers["content-length"]) == len(r.body) > 0
    with pytest.raises(ValueError):
        json.loads(r.body)
    stub.set_fault("truncated", early_close=True, count=1)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()),
                 headers={"Authorization": f"Bearer {stub.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    conn.close()


def test_fault_html200_and_wrong_content_type(stub):
    stub.set_fault("html200", count=1)
    r = stub.get(q())
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert r.body.startswith(b"<!DOCTYPE html>")
    stub.set_fault("wrong_content_type", count=1)
    r = stub.get(q())
    assert r.status == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.json()["data"]
    stub.set_fault("wrong_content_type", content_type="application/json", count=1)
    assert stub.get(q()).headers["content-type"] == "application/json"


def test_fault_pagination_loop(stub):
    stub.set_fault("pagination_loop")
    for number in (1, 2):
        doc = stub.get(q(breakdown_by="workspace", number=str(number))).json()
        assert doc["meta"]["pagination"]["next-page"] == number
        assert doc["links"]["next"] == doc["links"]["self"]
    stub.reset()
    stub.set_fault("pagination_loop", next_page=1)
    doc = stub.get(q(breakdown_by="workspace", number="3")).json()
    assert doc["meta"]["pagination"]["next-page"] == 1


def test_fault_huge(stub):
    stub.set_fault("huge", mb=2, count=1)
    r = stub.get(q())
    assert r.status == 200 and len(r.body) == 2 * 1024 * 1024
    assert int(r.headers["content-length"]) == len(r.body)
    assert json.loads(r.body)["data"] == []
    stub.set_fault("huge", mb=1, content_length=False, count=1)
    r = stub.get(q())
    assert "content-length" not in r.headers and len(r.body) == 1024 * 1024


def test_fault_trickle(stub):
    stub.set_fault("trickle", chunk_bytes=1024, interval=0.2, count=1)
    t = time.monotonic()
    r = stub.get(q(breakdown_by="workspace", size="10"))
    elapsed = time.monotonic() - t
    chunks = math.ceil(len(r.body) / 1024)
    assert chunks >= 3 and elapsed >= 0.2 * (chunks - 1) - 0.05
    assert r.status == 200 and r.json()["data"]


def test_fault_drop_and_close(stub):
    stub.set_fault("drop", count=1)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()))
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()
    req = (f"GET {API_PATH}?{urllib.parse.urlencode(q())} HTTP/1.1\r\nHost: x\r\n"
           f"Authorization: Bearer {stub.token}\r\n\r\n").encode()
    status, headers, body, closed = raw_http(stub.port, req, close_wait=0.3)
    assert status.endswith("200 OK") and json.loads(body)["data"] and not closed
    stub.set_fault("close", count=1)
    status, headers, body, closed = raw_http(stub.port, req)
    assert status.endswith("200 OK") and json.loads(body)["data"] and closed
    assert "connection" not in headers
    stub.set_fault("close", announce=True, count=1)
    status, headers, body, closed = raw_http(stub.port, req)
    assert closed and headers["connection"] == "close"


def test_faults_at_startup(stub_factory):
    stub = stub_factory(faults=[{"mode": "status", "status": 502, "count": 1}])
    assert stub.get(q()).status == 502
    assert stub.get(q()).status == 200


def test_bad_fault_is_rejected(stub):
    r = helpers.http_request(stub.url + "/__control/faults", "POST", body={"mode": "nope"})
    assert r.status == 400


# ---- connection behaviour, stats, logging, process -----------------------------------------------

def test_keep_alive_reuses_the_connection(stub):
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    socks = []
    for _ in range(3):
        conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()),
                     headers={"Authorization": f"Bearer {stub.token}"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Length")
        resp.read()
        socks.append(conn.sock)
    assert socks[0] is socks[1] is socks[2]
    conn.close()


def test_idle_keep_alive_connection_is_closed(stub):
    stub.settings(idle_timeout=0.3)
    req = "GET /__control/health HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", stub.port), timeout=5) as s:
        s.sendall(req)
        time.sleep(0.1)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        t = time.monotonic()
        assert s.recv(1) == b""
        assert time.monotonic() - t < 2


def test_stats_record_requests_without_tokens(stub):
    stub.get(q())
    stub.get(q(), token="wrong-token-xyz")
    stub.set_fault("status", status=500, count=1)
    stub.get(q(breakdown_by="environment"))
    # The handler thread counts a request out after its last byte is sent, so the client can ask
    # for the stats before that; the count must still come back to 0, on a loaded machine later.
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, 0.02,
                       "the last request counted out")
    stats = stub.stats()
    assert stats["total"] == 3 and stats["in_flight"] == 0
    assert stats["by_status"] == {"200": 1, "401": 1, "500": 1}
    assert stats["by_path"] == {API_PATH: 3}
    assert stats["by_fault"] == {"status": 1}
    reqs = stats["requests"]
    assert [r["auth"]["valid"] for r in reqs] == [True, False, True]
    assert reqs[0]["params"]["filter[date]"] == OCT
    assert reqs[0]["headers"]["Prefer"] == "profile=preview"
    assert reqs[0]["headers"]["Authorization"] == "<redacted>"
    assert reqs[2]["fault"] == "status" and reqs[2]["params"]["breakdown_by"] == "environment"
    dumped = json.dumps(stats)
    assert stub.token not in dumped and "wrong-token-xyz" not in dumped
    stub.reset()
    assert stub.stats()["total"] == 3
    stub.reset(stats=True)
    assert stub.stats() == {"total": 0, "in_flight": 0, "max_in_flight": 0, "by_path": {},
                            "by_status": {}, "by_fault": {}, "requests": []}
    stub.get(q())
    stub.clear_stats()
    assert stub.stats()["total"] == 0
    log = stub.log_text()
    assert log.count(API_PATH) >= 4 and stub.token not in log and "wrong-token-xyz" not in log


def test_stats_show_in_flight_requests(stub):
    stub.set_fault("slow", seconds=30, count=1)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()))
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 1, 5, message="in-flight request")
    assert stub.stats()["requests"][-1]["status"] is None
    conn.close()


def test_sigterm_exits_cleanly_even_with_a_request_in_flight(stub):
    stub.set_fault("slow", seconds=30)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()))
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 1, 5, message="in-flight request")
    t = time.monotonic()
    assert stub.stop() == 0
    assert time.monotonic() - t < 3
    conn.close()


def test_startup_is_fast_and_prints_the_url(tmp_path):
    token = tmp_path / "t"
    token.write_text("tok\n")
    t = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(helpers.STUB_SCRIPT), "--listen", "127.0.0.1:0",
                             "--token-file", str(token)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        elapsed = time.monotonic() - t
        assert line.startswith("listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        r = helpers.http_request(f"http://127.0.0.1:{port}{API_PATH}?"
                                 + urllib.parse.urlencode(q()),
                                 headers={"Authorization": "Bearer tok"})
        assert r.status == 200  # the token file's trailing newline is not part of the token
        assert elapsed < 2.0, f"stub took {elapsed:.2f}s to start"
    finally:
        proc.terminate()
        assert proc.wait(5) == 0


def test_large_profile(stub_factory):
    stub = stub_factory(profile="large")
    ws = sum(len(a.workspaces) for a in sample_data.accounts("large").values())
    envs = sum(len(a.environments) for a in sample_data.accounts("large").values())
    assert ws >= 10000 and envs >= 100
    date = "between:2026-10-01T00:00:00Z,2026-10-01T23:59:59Z"
    doc = stub.get(q(date=date, breakdown_by="workspace")).json()
    assert doc["meta"]["pagination"]["total-count"] > 1000
    exp = expected_usage("2026-10-01", "2026-10-02", "large", [MAIN])
    total = stub.get(q(date=date, total="true")).json()["data"][0]["attributes"]
    assert Usage(total["runs-count"], total["runs-seconds"]) == exp.accounts[MAIN]


def test_fixed_profile_serves_the_same_sums_every_month(stub_factory):
    """Every month of "fixed" has small's February 2026 numbers, dated in the month asked for."""
    stub = stub_factory(profile="fixed")
    february = expected_usage("2026-02-01", "2026-03-01", "small")
    assert february.accounts[MAIN].runs > 0
    for year, month in ((2026, 2), (2026, 12), (2027, 1), (2028, 2), (2031, 7)):
        start, end = helpers.month_bounds(year, month)
        last = end - dt.timedelta(days=1)
        date = f"between:{start}T00:00:00Z,{last}T23:59:59Z"
        for account in (MAIN, TINY):
            total = stub.get(q(account, date, total="true")).json()["data"][0]["attributes"]
            assert Usage(total["runs-count"], total["runs-seconds"]) == \
                february.accounts[account], (year, month, account)
            days = {i["attributes"]["date"] for i in fetch_all(stub, q(account, date))}
            assert days and all(start.isoformat() <= d <= last.isoformat() for d in days)
            assert max(days) <= start.replace(day=28).isoformat()
        fixed = expected_usage(start, end, "fixed")
        assert (fixed.accounts, fixed.environments, fixed.workspaces) == \
            (february.accounts, february.environments, february.workspaces)
    assert sample_data.accounts("fixed") == sample_data.accounts("small")


# ---- sample data and helpers -------------------------------------------------------------------

def test_sample_data_shape():
    accs = sample_data.accounts("small")
    assert list(accs) == [MAIN, DEMO, TINY, EMPTY]
    for a in (MAIN, DEMO):
        assert 3 <= len(accs[a].environments) <= 5 and len(accs[a].workspaces) >= 24
        assert all(e.id.startswith("env-") for e in accs[a].environments)
        assert all(w.id.startswith("ws-") for w in accs[a].workspaces)
    rows = list(sample_data.raw_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 30)))
    assert rows == list(sample_data.raw_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 30)))
    assert all(r.runs_count > 0 and r.runs_seconds > 0 for r in rows)
    assert not any(r.account_id == EMPTY for r in rows)
    zero = list(sample_data.raw_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 1), include_zero=True))
    assert len(zero) == sum(len(a.workspaces) for a in accs.values())


def test_sample_data_cli_matches_raw_rows():
    out = subprocess.run([sys.executable, str(helpers.STUB_DIR / "sample_data.py"),
                          "--from", "2026-11-01", "--to", "2026-11-30", "--format", "jsonl"],
                         check=True, capture_output=True).stdout.decode("utf-8")
    got = [json.loads(line) for line in out.splitlines()]
    want = [r.to_json() for r in sample_data.raw_rows(dt.date(2026, 11, 1),
                                                      dt.date(2026, 11, 30))]
    assert got == want and len(got) > 500
    exp = expected_usage("2026-11-01", "2026-12-01")
    assert sum(g["runs_seconds"] for g in got if g["account_id"] == MAIN) == exp.accounts[MAIN][1]


def test_expected_usage_is_half_open():
    a = expected_usage(dt.date(2026, 10, 1), dt.date(2026, 11, 1), accounts=[MAIN])
    b = expected_usage(*helpers.month_bounds(2026, 10), accounts=[MAIN])
    assert a == b
    assert max(d for _, d in a.daily) <= dt.date(2026, 10, 31)
    assert expected_usage("2026-10-01", "2026-10-01").accounts[EMPTY] == Usage()


EXPOSITION = (
    '# HELP scalr_runs_total Runs.\\nSecond \\\\ line.\n'
    '# TYPE scalr_runs_total counter\n'
    'scalr_runs_total{account="a",workspace="q\\"uote"} 3\n'
    'scalr_runs_total{account="a",workspace="back\\\\slash"} 4\n'
    'scalr_runs_total{account="a",workspace="new\\nline",} 5 1700000000000\n'
    'scalr_runs_total{account="a",workspace="prod-ü-日本"} 1e3\n'
    '# TYPE up gauge\n'
    'up 1\n'
    'nan_metric NaN\n'
    'inf_metric{a="b"} +Inf\n'
)


def test_exposition_parser():
    parsed = helpers.parse_exposition(EXPOSITION.encode())
    s = parsed.samples
    assert parsed.help["scalr_runs_total"] == "Runs.\nSecond \\ line."
    assert parsed.types == {"scalr_runs_total": "counter", "up": "gauge"}
    assert helpers.sample_value(s, "scalr_runs_total", account="a", workspace='q"uote') == 3
    assert helpers.sample_value(s, "scalr_runs_total", account="a", workspace="back\\slash") == 4
    assert helpers.sample_value(s, "scalr_runs_total", account="a", workspace="new\nline") == 5
    assert helpers.sample_value(s, "scalr_runs_total", account="a", workspace="prod-ü-日本") == 1000
    assert s[("up", frozenset())] == 1 and math.isnan(s[("nan_metric", frozenset())])
    assert s[("inf_metric", frozenset({("a", "b")}))] == math.inf
    assert len(helpers.series(s, "scalr_runs_total", account="a")) == 4


@pytest.mark.parametrize("bad", [
    'm{a="x\\t"} 1\n',                 # invalid escape
    'm{a="x"} 1\nm{a="x"} 2\n',        # duplicate series
    'm 1',                             # no final newline
    'm{a="x} 1\n',                     # unterminated
    'm{a="x",a="y"} 1\n',              # duplicate label
    'm 1\nn 2\nm{a="b"} 3\n',          # family not contiguous
    'm 1\n# TYPE m gauge\n',           # TYPE after samples
    'm one\n',                         # bad value
    '1m 1\n',                          # bad name
    'm{1a="x"} 1\n',                   # bad label name
])
def test_exposition_parser_rejects(bad):
    with pytest.raises(helpers.ExpositionError):
        helpers.parse_exposition(bad)


def test_exposition_parser_rejects_invalid_utf8():
    with pytest.raises(helpers.ExpositionError):
        helpers.parse_exposition(b'm{a="\xff"} 1\n')


def test_exporter_config_yaml(tmp_path, stub):
    yaml = pytest.importorskip("yaml")
    cfg = helpers.exporter_config(stub, 12345, tmp_path / "tok", [MAIN],
                                  {"poll": {"interval": "2s"}, "scalr": {"prefer_profile": None}})
    assert yaml.safe_load(helpers.to_yaml(cfg)) == cfg
    assert cfg["scalr"]["retry"]["max_attempts"] == 3 and "prefer_profile" not in cfg["scalr"]
    assert cfg["web"]["listen_address"] == "127.0.0.1:12345" and cfg["poll"]["interval"] == "2s"


# ---- a whole estate: account names, control tower, served accounts, delay, politeness stats ----

def account_items(items):
    """{(account id, date): (Usage, name, relationships.account id)} of account breakdown rows."""
    got = {}
    for i in items:
        a = i["attributes"]
        key = (a["breakdown-id"], a["date"])
        assert key not in got, key
        got[key] = (Usage(a["runs-count"], a["runs-seconds"]), a["breakdown-name"],
                    i["relationships"]["account"]["data"]["id"])
    return got


def test_account_names_are_stable_and_listed_by_entities():
    names = {MAIN: "Main account", DEMO: 'Demo "QA" \\ Zürich-日本', TINY: "Tiny account",
             EMPTY: "Empty account (no runs)"}
    assert {a.id: a.name for a in sample_data.accounts("small").values()} == names
    assert {a.id: a.name for a in sample_data.accounts("fixed").values()} == names
    assert {a: sample_data.accounts("large")[a].name for a in names} == names
    hostile = names[DEMO]
    assert '"' in hostile and "\\" in hostile and not hostile.isascii()
    out = subprocess.run([sys.executable, str(helpers.STUB_DIR / "sample_data.py"), "--entities"],
                         check=True, capture_output=True).stdout.decode("utf-8")
    listed = {e["id"]: e["name"] for e in map(json.loads, out.splitlines())
              if e["type"] == "account"}
    assert listed == names


def test_breakdown_by_account_with_filter_is_the_account_itself(stub):
    """How an ordinary token learns its own account's name: filter[account]=X,
    breakdown_by=account."""
    exp = expected_usage("2026-10-01", "2026-11-01")
    names = helpers.account_names()
    for account in (MAIN, DEMO, TINY, EMPTY):
        total = account_items(fetch_all(stub, q(account, breakdown_by="account", total="1")))
        assert total == {(account, None): (exp.accounts[account], names[account], account)}
        daily = account_items(fetch_all(stub, q(account, breakdown_by="account"), size=7))
        want = {(a, d.isoformat()): (u, names[a], a) for (a, d), u in exp.daily.items()
                if a == account}
        if account == EMPTY:  # no runs: still one row, so the name is there to be learnt
            want = {(EMPTY, None): (Usage(), names[EMPTY], EMPTY)}
        assert daily == want
    stub.settings(ascii_json=True)
    r = stub.get(q(DEMO, breakdown_by="account", total="1"))
    assert r.body.isascii() and sample_data.ACCOUNT_NAME_HOSTILE.encode() not in r.body
    assert r.json()["data"][0]["attributes"]["breakdown-name"] == sample_data.ACCOUNT_NAME_HOSTILE


def test_control_tower_lists_every_child_account(stub_factory):
    children = [TINY, EMPTY, MAIN]
    stub = stub_factory(control_tower=True, accounts=children)
    exp = expected_usage("2026-10-01", "2026-11-01", accounts=children)
    names = helpers.account_names(accounts=children)
    listing = {"filter[date]": OCT, "breakdown_by": "account"}
    total = fetch_all(stub, dict(listing, total="true"), size=2)
    assert [i["attributes"]["breakdown-id"] for i in total] == sorted(children)
    assert account_items(total) == {(a, None): (exp.accounts[a], names[a], a) for a in children}
    assert exp.accounts[EMPTY] == Usage()  # listed although it has no runs
    want = {(a, d.isoformat()): (u, names[a], a) for (a, d), u in exp.daily.items()}
    want[(EMPTY, None)] = (Usage(), names[EMPTY], EMPTY)
    assert account_items(fetch_all(stub, listing, size=10)) == want
    assert account_items(fetch_all(stub, dict(listing, **{"filter[account]": TINY}))) == \
        {k: v for k, v in want.items() if k[0] == TINY}
    # The tower's children only; other breakdowns still need filter[account].
    assert stub.get(q(DEMO, breakdown_by="account")).status == 404
    assert stub.get(q(DEMO)).status == 404
    for breakdown in (None, "environment", "workspace"):
        params = {"filter[date]": OCT, **({"breakdown_by": breakdown} if breakdown else {})}
        assert stub.get(params).status == 400
    envs = by_breakdown(fetch_all(stub, q(MAIN, breakdown_by="environment", total="1")))
    assert envs == {e: (u, exp.environment_names[(MAIN, e)])
                    for (a, e), u in exp.environments.items() if a == MAIN}
    # A limited tower token may not list its children either.
    limited = stub_factory(control_tower=True, extra_args=["--limited-token", "lim-1",
                                                           "--limited-status", "403"])
    assert limited.get(listing, token="lim-1").status == 403
    assert limited.get(listing).status == 200


def test_accounts_restriction_serves_only_those(stub_factory, tmp_path):
    stub = stub_factory(accounts=[TINY, DEMO])
    assert stub.served_accounts() == [TINY, DEMO]
    for account in (MAIN, EMPTY, "acc-doesnotexist00"):
        r = stub.get(q(account, total="1"))
        assert r.status == 404 and r.json()["errors"][0]["status"] == "404"
    exp = expected_usage("2026-10-01", "2026-11-01", accounts=[TINY, DEMO])
    for account in (TINY, DEMO):
        total = fetch_all(stub, q(account, total="1"))
        assert by_breakdown(total) == {None: (exp.accounts[account], None)}
    assert stub.get({"filter[date]": OCT, "breakdown_by": "account"}).status == 400  # not a tower
    with pytest.raises(AssertionError, match="not accounts of profile small"):
        helpers.StubServer(tmp_path / "bad", accounts=[MAIN, "acc-m000001"])


def test_dynamic_children_between_cycles(stub_factory):
    stub = stub_factory(control_tower=True, accounts=[MAIN, TINY])
    listing = {"filter[date]": OCT, "breakdown_by": "account", "total": "1"}

    def children():
        return [i["attributes"]["breakdown-id"] for i in fetch_all(stub, listing)]

    assert children() == sorted([MAIN, TINY])
    assert stub.set_accounts([DEMO, MAIN, TINY]) == [DEMO, MAIN, TINY]
    assert children() == sorted([DEMO, MAIN, TINY]) and stub.get(q(DEMO)).status == 200
    assert stub.set_accounts([TINY]) == [TINY] and stub.served_accounts() == [TINY]
    assert children() == [TINY]
    assert stub.get(q(MAIN)).status == 404 and stub.get(q(TINY)).status == 200
    r = helpers.http_request(stub.url + "/__control/accounts", "POST",
                             body={"accounts": [TINY, "acc-unknown"]})
    assert r.status == 400 and stub.served_accounts() == [TINY]
    assert stub.set_accounts([]) == [] and children() == []
    stub.reset()
    assert stub.served_accounts() == [MAIN, TINY] and children() == sorted([MAIN, TINY])


def test_discovery_fault_filter(stub_factory):
    """"account": "" matches requests without filter[account] (a tower's discovery); an account id
    only that account's own requests."""
    stub = stub_factory(control_tower=True)
    listing = {"filter[date]": OCT, "breakdown_by": "account", "total": "1"}
    stub.set_fault("status", status=403, account="")
    assert stub.get(listing).status == 403
    assert stub.get(q(MAIN, breakdown_by="account")).status == 200
    assert stub.get(q(TINY)).status == 200
    stub.reset()
    stub.set_fault("status", status=403, account=TINY)
    assert stub.get(listing).status == 200
    assert stub.get(q(TINY)).status == 403 and stub.get(q(MAIN)).status == 200
    stub.reset()
    stub.set_fault("status", status=500, breakdown_by="account", count=1)
    assert stub.get(q(MAIN)).status == 200
    assert [stub.get(listing).status for _ in range(2)] == [500, 200]


def _concurrent_gets(stub, n, params):
    """n requests at once, each on its own connection; their statuses."""
    barrier = threading.Barrier(n)
    statuses = [None] * n

    def one(i):
        barrier.wait(30)
        statuses[i] = stub.get(params, timeout=60).status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return statuses


def test_delay_does_not_serialize_requests(stub_factory):
    """64 requests at once, each answered after 1.5 s: all are in flight together (96 s if the stub
    served them in turn)."""
    n, delay = 64, 1.5
    stub = stub_factory(delay_ms=delay * 1000)
    t = time.monotonic()
    assert _concurrent_gets(stub, n, q(TINY, total="1")) == [200] * n
    elapsed = time.monotonic() - t
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="all counted out")
    stats = stub.stats()
    reqs = stats["requests"]
    assert len(reqs) == n and all(r["ended"] - r["started"] >= delay for r in reqs)
    assert stats["max_in_flight"] == n
    assert helpers.peak_in_flight(reqs) == n
    assert max(r["started"] for r in reqs) < min(r["ended"] for r in reqs)
    assert elapsed < n * delay / 4
    # The delay is a setting too, and applies to every API answer, a 401 as well.
    stub.settings(delay_ms=300)
    stub.clear_stats()
    assert stub.get(q(), token="wrong").status == 401
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    req = stub.stats()["requests"][0]
    assert req["duration_ms"] >= 300 and req["ended"] - req["started"] >= 0.3
    stub.reset(stats=True)  # back to the startup delay
    stub.get(q())
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    req = stub.stats()["requests"][0]
    assert req["ended"] - req["started"] >= delay


def test_max_in_flight_counts_the_peak_since_clear(stub):
    for _ in range(3):
        assert stub.get(q()).status == 200
        # The client has the answer before the handler counts the request out.
        helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    assert stub.stats()["max_in_flight"] == 1
    stub.settings(delay_ms=1000)
    assert _concurrent_gets(stub, 5, q()) == [200] * 5
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    assert stub.stats()["max_in_flight"] == 5 == helpers.peak_in_flight(stub.stats()["requests"])
    stub.clear_stats()
    assert stub.stats()["max_in_flight"] == 0
    stub.reset(stats=True)
    stub.get(q())
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    assert stub.stats()["max_in_flight"] == 1


def test_clearing_stats_keeps_requests_in_flight_counted(stub):
    stub.set_fault("slow", seconds=1.5, count=1)
    result = []
    t = threading.Thread(target=lambda: result.append(stub.get(q()).status))
    t.start()
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 1, 5, message="in-flight request")
    stub.clear_stats()
    stats = stub.stats()
    assert (stats["total"], stats["in_flight"], stats["max_in_flight"]) == (0, 1, 1)
    t.join(30)
    assert result == [200]
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    assert stub.stats()["max_in_flight"] == 1


def test_requests_record_started_and_ended_on_the_monotonic_clock(stub):
    before = time.monotonic()
    for account in (MAIN, DEMO, TINY):
        assert stub.get(q(account)).status == 200
        # The client has the answer before the handler records its end: wait for that, so that
        # the next request starts after it.
        helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    after = time.monotonic()
    reqs = stub.stats()["requests"]
    assert [r["params"]["filter[account]"] for r in reqs] == [MAIN, DEMO, TINY]
    for r in reqs:
        assert before <= r["started"] <= r["ended"] <= after
        assert abs((r["ended"] - r["started"]) * 1000 - r["duration_ms"]) <= 1
    for earlier, later in zip(reqs, reqs[1:]):
        assert earlier["ended"] <= later["started"]
    stub.set_fault("slow", seconds=30, count=1)
    conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=5)
    conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(q()))
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 1, 5, message="in-flight request")
    last = stub.stats()["requests"][-1]
    assert last["ended"] is None and last["started"] >= after
    conn.close()


def test_keep_requests_caps_the_recorded_requests(stub_factory):
    stub = stub_factory(keep_requests=3)
    for _ in range(5):
        stub.get(q())
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    stats = stub.stats()
    assert stats["total"] == 5 and [r["seq"] for r in stats["requests"]] == [3, 4, 5]
    stub.clear_stats()
    stub.get(q())
    helpers.wait_until(lambda: stub.stats()["in_flight"] == 0, 10, message="counted out")
    assert [r["seq"] for r in stub.stats()["requests"]] == [1]


def test_many_profile_sums_equal_raw_rows(stub_factory):
    n = 1000
    stub = stub_factory(profile="many", many_accounts=n, control_tower=True)
    assert stub.profile == "many:1000"
    accs = sample_data.accounts(stub.profile)
    ids = [f"acc-m{i:06d}" for i in range(1, n + 1)]
    assert list(accs) == ids == list(stub.accounts)
    assert all(accs[a].name == f"Account {i}" for i, a in enumerate(ids, 1))
    assert all(len(a.environments) == 1 and len(a.workspaces) == 2 for a in accs.values())
    assert sample_data.accounts("many") == accs
    # Independent sums straight from the raw rows.
    sums = {a: Usage() for a in ids}
    for r in sample_data.raw_rows(dt.date(2026, 10, 1), dt.date(2026, 10, 31), stub.profile):
        sums[r.account_id] += Usage(r.runs_count, r.runs_seconds)
    assert sum(1 for u in sums.values() if u.runs) > n * 0.9
    listing = fetch_all(stub, {"filter[date]": OCT, "breakdown_by": "account", "total": "1"})
    assert account_items(listing) == {(a, None): (sums[a], f"Account {i}", a)
                                      for i, a in enumerate(ids, 1)}
    assert {a: u for a, (u, _) in helpers.expected_account_breakdown(
        "2026-10-01", "2026-11-01", stub.profile).items()} == sums
    for a in (ids[0], ids[499], ids[-1]):
        assert by_breakdown(fetch_all(stub, q(a, total="1"))) == {None: (sums[a], None)}
        wss = by_breakdown(fetch_all(stub, q(a, breakdown_by="workspace", total="1")))
        assert sum((u for u, _ in wss.values()), Usage()) == sums[a] and len(wss) <= 2
    assert stub.get(q(MAIN)).status == 404
    with pytest.raises(AssertionError, match="goes with --profile many"):
        helpers.StubServer(stub.workdir.parent / "bad", extra_args=["--many-accounts", "3"])


def test_many_accounts_three_requests_each_from_eight_clients(stub_factory):
    """The benchmark's load, 1000 accounts x 3 requests, completes (a generous bound; it takes a
    few seconds) and every answer is right."""
    n = 1000
    stub = stub_factory(profile="many", many_accounts=n)
    ids = list(stub.accounts)
    exp = expected_usage("2026-10-01", "2026-11-01", stub.profile)
    wrong = []

    def client(part):
        conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=30)
        for a in part:
            for breakdown in ("account", "environment", "workspace"):
                conn.request("GET", API_PATH + "?" + urllib.parse.urlencode(
                    q(a, breakdown_by=breakdown, total="1")),
                    headers={"Authorization": f"Bearer {stub.token}"})
                resp = conn.getresponse()
                doc = json.loads(resp.read())
                got = sum((Usage(i["attributes"]["runs-count"], i["attributes"]["runs-seconds"])
                           for i in doc["data"]), Usage())
                if resp.status != 200 or got != exp.accounts[a]:
                    wrong.append((a, breakdown, resp.status, got))
        conn.close()

    t = time.monotonic()
    threads = [threading.Thread(target=client, args=(ids[k::8],)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    assert not wrong, wrong[:5]
    assert stub.stats()["total"] == 3 * n
    assert time.monotonic() - t < 120


def test_politeness_helpers():
    reqs = [{"started": 0.0, "ended": 1.0}, {"started": 0.5, "ended": 0.7},
            {"started": 0.9, "ended": 0.95}, {"started": 1.0, "ended": 2.0},
            {"started": 1.9, "ended": None}, {"started": 3.5, "ended": 3.6}]
    assert helpers.peak_in_flight(reqs) == 2  # 1.0 ends as 1.0 starts
    assert helpers.peak_in_flight(reqs + [{"started": 1.95, "ended": 1.99}]) == 3
    assert helpers.max_started_in_window(reqs, 1.0) == 3  # [0.0, 1.0) holds 0.0, 0.5, 0.9, not 1.0
    assert helpers.max_started_in_window(reqs, 1.01) == 4
    assert helpers.max_started_in_window(reqs, 0.15) == 2  # 0.9 and 1.0
    assert helpers.max_started_in_window([], 1.0) == 0
    assert helpers.started_between(reqs, 0.5, 1.9) == [reqs[2], reqs[3]]


# ---- the workspaces endpoint (workspace enrichment) ----------------------------------------------

WS_PATH = helpers.WORKSPACES_PATH


def ws_query(account=MAIN, include="environment,tags", size=None, number=None):
    params = {"filter[account]": account}
    if include is not None:
        params["include"] = include
    if size is not None:
        params["page[size]"] = size
    if number is not None:
        params["page[number]"] = number
    return params


def list_workspaces(stub, account=MAIN, size=10):
    """Every page of the listing: (data items, included items by (type, id)), checking meta."""
    items, included, number = [], {}, 1
    while True:
        r = stub.get(ws_query(account, size=size, number=number), path=WS_PATH)
        assert r.status == 200, r.body
        assert r.headers["content-type"] == "application/vnd.api+json"
        doc = r.json()
        p = doc["meta"]["pagination"]
        assert p["current-page"] == number
        page_related = set()
        for item in doc["data"]:
            rel = item["relationships"]
            page_related.add(("environments", rel["environment"]["data"]["id"]))
            page_related |= {("tags", t["id"]) for t in rel["tags"]["data"]}
        # Compound document: this page's related resources, each once, and nothing else.
        keys = [(i["type"], i["id"]) for i in doc["included"]]
        assert len(keys) == len(set(keys)) and set(keys) == page_related
        included.update({(i["type"], i["id"]): i for i in doc["included"]})
        items += doc["data"]
        if p["next-page"] is None:
            assert len(items) == p["total-count"] and number == p["total-pages"]
            return items, included
        assert p["next-page"] == number + 1
        number += 1


def test_workspaces_list_the_sample_relations_without_the_deleted(stub):
    for account in (MAIN, DEMO, TINY, EMPTY):
        acc = sample_data.accounts("small")[account]
        items, included = list_workspaces(stub, account)
        # Independent of the stub's own helper: every workspace of the profile but the deleted.
        wanted = {ws.id: ws for ws in acc.workspaces if not sample_data.is_deleted(ws)}
        assert [i["id"] for i in items] == sorted(wanted), account
        for item in items:
            ws = wanted[item["id"]]
            assert item["type"] == "workspaces"
            assert item["attributes"]["name"] == ws.name
            env = item["relationships"]["environment"]["data"]
            assert env == {"type": "environments", "id": ws.environment_id}
            assert included[("environments", env["id"])]["attributes"]["name"] == \
                ws.environment_name
            tags = sorted(included[("tags", t["id"])]["attributes"]["name"]
                          for t in item["relationships"]["tags"]["data"])
            assert tuple(tags) == sample_data.workspace_tags(ws)


def test_workspace_sample_relations_have_what_the_tests_need():
    accs = sample_data.accounts("small")
    rows = list(sample_data.raw_rows(dt.date(2026, 2, 1), dt.date(2026, 2, 28), "fixed"))
    used = {r.workspace_id for r in rows}
    deleted_used = [ws for a in accs.values() for ws in a.workspaces
                    if sample_data.is_deleted(ws) and ws.id in used]
    assert {ws.account_id for ws in deleted_used} >= {MAIN, TINY}
    tagged = [t for a in accs.values() for ws in a.workspaces for t in sample_data.workspace_tags(ws)]
    assert {"team:payments", "cost-center:CC-100"} <= set(tagged)
    assert all(re.fullmatch(r"[a-z-]+:[A-Za-z0-9-]+", t) for t in tagged)
    untagged = [ws for a in accs.values() for ws in a.workspaces
                if not sample_data.workspace_tags(ws)]
    assert untagged
    # Tags are the account's: the same name in two accounts is two ids.
    assert sample_data.tag_id(MAIN, "team:data") != sample_data.tag_id(DEMO, "team:data")


def test_workspaces_include_only_what_is_asked(stub):
    r = stub.get(ws_query(TINY, include="environment"), path=WS_PATH)
    assert {i["type"] for i in r.json()["included"]} == {"environments"}
    r = stub.get(ws_query(TINY, include=None), path=WS_PATH)
    assert r.json()["included"] == []
    assert r.json()["data"][0]["relationships"]["environment"]["data"]["id"].startswith("env-")


@pytest.mark.parametrize("params", [
    {"include": "environment,tags"},            # no filter[account]
    ws_query(include="environment,bogus"),
    ws_query(number="0"), ws_query(size="x"),
])
def test_workspaces_bad_requests_are_400(stub, params):
    r = stub.get(params, path=WS_PATH)
    assert r.status == 400, r.body
    assert r.json()["errors"][0]["status"] == "400"


def test_workspaces_auth_and_accounts(stub_factory):
    stub = stub_factory(accounts=[MAIN], extra_args=["--limited-token", "limited-1"])
    assert stub.get(ws_query(), token=None, path=WS_PATH).status == 401
    assert stub.get(ws_query(), token="wrong", path=WS_PATH).status == 401
    assert stub.get(ws_query(DEMO), path=WS_PATH).status == 404   # not served here
    assert stub.get(ws_query(), token="limited-1", path=WS_PATH).status == 404


def test_token_without_workspaces_read(stub_factory):
    stub = stub_factory(extra_args=["--no-workspaces-read"])
    r = stub.get(ws_query(), path=WS_PATH)
    assert r.status == 403 and r.json()["errors"][0]["status"] == "403"
    assert stub.get(q()).status == 200   # usage is unaffected
    stub.settings(workspaces_read_status=404)
    assert stub.get(ws_query(), path=WS_PATH).status == 404
    stub.settings(workspaces_read=True)
    assert stub.get(ws_query(), path=WS_PATH).status == 200
    stub.reset()
    assert stub.get(ws_query(), path=WS_PATH).status == 403
    other = stub_factory(extra_args=["--no-workspaces-read", "--no-workspaces-read-status", "404"])
    assert other.get(ws_query(), path=WS_PATH).status == 404


def test_workspace_faults_need_their_endpoint(stub):
    stub.set_fault("status", status=503)   # no endpoint: usage-statistics only
    assert stub.get(ws_query(), path=WS_PATH).status == 200
    assert stub.get(q()).status == 503
    stub.reset()
    stub.set_fault("status", status=500, endpoint="workspaces", count=1)
    assert stub.get(q()).status == 200
    assert stub.get(ws_query(), path=WS_PATH).status == 500
    assert stub.get(ws_query(), path=WS_PATH).status == 200
    stub.set_fault("pagination_loop", endpoint="workspaces", account=MAIN, page=1)
    r = stub.get(ws_query(size=10, number=1), path=WS_PATH)
    assert r.json()["meta"]["pagination"]["next-page"] == 1
    stub.reset()
    stub.set_fault("long_label", endpoint="any", bytes=3000)
    assert stub.get(ws_query(), path=WS_PATH).json()["data"][0]["attributes"]["name"] == "L" * 3000
    with pytest.raises(AssertionError):
        stub.set_fault("status", endpoint="reports")
    stats = stub.stats()
    assert stats["by_path"][WS_PATH] >= 5
    assert all(r["path"] == WS_PATH for r in stub.workspace_requests())
