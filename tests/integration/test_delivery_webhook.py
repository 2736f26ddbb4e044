"""Report delivery by webhook end to end: the real daemon on the stand-in Scalr server writes the
previous month's report and POSTs one summary per account to a local receiver (http.server on
loopback). The totals are checked against sums computed from sample_data's raw rows
(helpers.expected_usage), never against the exporter's own output.

Covers: exactly one POST per account and period, none again after a restart; 503 then 200 is
retried and delivered once (the attempts are counted: no storm); 404 is counted failed and not
retried; the secret webhook URL is in no log line, metric or state file; Slack's shape;
scalr_exporter_report_deliveries_total.
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until

SCHEDULE = "monthly"
FORMATS = ("csv", "json")
EXTENSIONS = {"csv": "csv", "json": "json"}
INCLUDED_RUNS = 100
PRICE_CENTS = 99
STATE_FILE = ".scalr-usage-exporter-state.json"
SECRET = "T0KEN-s3cr3t-9f8e7d6c5b4a"


class Receiver:
    """A webhook receiver on loopback: answers each POST with the next status of its script (then
    200), and keeps every request."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body,
                         "time": time.monotonic()})
                    status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"

    def bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made = []

    def make(script=()):
        made.append(Receiver(script))
        return made[-1]
    yield make
    for r in made:
        r.close()


def previous_month():
    import datetime as dt
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    return start, first_of_this, start.strftime("%Y-%m")


def month_before(start):
    import datetime as dt
    previous = (start - dt.timedelta(days=1)).replace(day=1)
    return previous, start


def overrides(output_dir: Path, url_file: Path, fmt: str = "json") -> dict:
    return {"billing": {"included_runs": INCLUDED_RUNS, "overage_price": 0.99, "currency": "USD"},
            "reports": {"output_dir": str(output_dir),
                        "schedules": [{"name": SCHEDULE, "cron": "0 6 1 * *",
                                       "period": "previous_month", "formats": list(FORMATS),
                                       "webhook": {"url_file": str(url_file), "format": fmt,
                                                   "timeout": "5s"}}]}}


def start_exporter(exporter_factory, stub, tmp_path, receiver, fmt="json"):
    url_file = tmp_path / "webhook-url"
    url_file.write_text(receiver.url + "\n")
    output = tmp_path / "reports"
    return exporter_factory(stub, overrides=overrides(output, url_file, fmt)), output


def deliveries(exporter):
    return helpers.values_by(exporter.metrics(), "scalr_exporter_report_deliveries_total",
                             "schedule", "channel", "result")


def assert_no_secret(exporter, output: Path):
    assert SECRET not in exporter.log_text()
    assert SECRET.encode() not in exporter.scrape().body
    for path in output.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


def test_one_post_per_account_with_the_sums_and_none_again_after_a_restart(
        stub, exporter_factory, receiver_factory, tmp_path):
    receiver = receiver_factory()
    start, end, key = previous_month()
    accounts = sorted(sample_data.accounts("small"))
    exporter, output = start_exporter(exporter_factory, stub, tmp_path, receiver)
    # At 0 from the start (before anything could be delivered, the series exist).
    assert (SCHEDULE, "webhook", "failed") in deliveries(exporter)
    wait_until(lambda: receiver.count() >= len(accounts), 90, 0.2, "one POST per account")

    expected = helpers.expected_usage(start, end, accounts=accounts)
    previous = helpers.expected_usage(*month_before(start), accounts=accounts)
    bodies = {b["account"]["id"]: b for b in receiver.bodies()}
    assert sorted(bodies) == accounts
    for account, body in bodies.items():
        runs, seconds = expected.accounts[account].runs, expected.accounts[account].seconds
        prev_runs = previous.accounts[account].runs
        assert body["schedule"] == SCHEDULE
        assert body["period"]["key"] == key
        assert body["period"]["start"] == f"{start.isoformat()}T00:00:00Z"
        assert body["period"]["end"] == f"{end.isoformat()}T00:00:00Z"
        assert body["usage"]["runs"] == runs
        assert body["usage"]["run_seconds"] == seconds
        assert body["usage"]["run_hours"] == pytest.approx(seconds / 3600)
        assert body["previous"]["runs"] == prev_runs
        assert body["change"]["runs"] == runs - prev_runs
        cents = max(0, runs - INCLUDED_RUNS) * PRICE_CENTS
        assert body["overage_cost"]["cents"] == cents
        assert body["overage_cost"]["amount"] == f"{cents // 100}.{cents % 100:02d}"
        assert body["overage_cost"]["currency"] == "USD"
        assert [f["name"] for f in body["files"]] == [
            f"scalr-usage_{account}_{key}.{EXTENSIONS[f]}" for f in FORMATS]
    for request in receiver.requests:
        assert request["path"] == f"/hooks/{SECRET}"
        assert request["headers"]["Content-Type"] == "application/json"
    wait_until(lambda: deliveries(exporter).get((SCHEDULE, "webhook", "sent")) == len(accounts),
               20, 0.2, "the sent counter")
    assert deliveries(exporter)[(SCHEDULE, "webhook", "failed")] == 0
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    check = subprocess.run([promtool, "check", "metrics"], input=exporter.scrape().body,
                           capture_output=True, timeout=60)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check
    state = json.loads((output / STATE_FILE).read_text())
    assert sorted(d["account"] for d in state["deliveries"]) == accounts
    assert all(d["finished"] for d in state["deliveries"])
    assert_no_secret(exporter, output)
    # The start line shows where deliveries go, as scheme://host only.
    host = receiver.url.split("/hooks/")[0]
    assert re.search(rf'msg="report delivery" schedule={SCHEDULE} channel=webhook '
                     rf'webhook="?{re.escape(host)}"? ', exporter.log_text())

    # A restart sends nothing again: the state says they were sent.
    exporter.stop()
    posts = receiver.count()
    assert posts == len(accounts)
    restarted = exporter_factory(stub, overrides=overrides(output, tmp_path / "webhook-url"))
    restarted.wait_for_log(r'msg="scheduled reports checked" due=0', timeout=20)
    time.sleep(2)
    assert receiver.count() == posts
    assert "report delivered" not in restarted.log_text()
    counts = deliveries(restarted)
    assert counts[(SCHEDULE, "webhook", "sent")] == 0
    assert_no_secret(restarted, output)


def test_503_then_200_is_retried_and_delivered_once(stub, exporter_factory, receiver_factory,
                                                    tmp_path):
    accounts = sorted(sample_data.accounts("small"))
    receiver = receiver_factory([503] * len(accounts))  # each account's first attempt
    exporter, output = start_exporter(exporter_factory, stub, tmp_path, receiver)
    exporter.wait_for_log(r'msg="report delivery will be retried"', timeout=90)
    # The first retry waits the initial backoff (30s, more than Retry-After's 1s).
    wait_until(lambda: deliveries(exporter).get((SCHEDULE, "webhook", "sent")) == len(accounts),
               120, 0.5, "every account delivered after its retry")
    time.sleep(3)
    assert receiver.count() == 2 * len(accounts)  # one 503 and one 200 each: no storm
    assert sorted(b["account"]["id"] for b in receiver.bodies()[len(accounts):]) == accounts
    assert deliveries(exporter)[(SCHEDULE, "webhook", "failed")] == 0
    log = exporter.log_text()
    assert len(re.findall(r'msg="report delivered"', log)) == len(accounts)
    assert "HTTP 503" in log
    assert_no_secret(exporter, output)


def test_404_is_counted_failed_and_not_retried(stub, exporter_factory, receiver_factory,
                                               tmp_path):
    accounts = sorted(sample_data.accounts("small"))
    receiver = receiver_factory([404] * 100)
    exporter, output = start_exporter(exporter_factory, stub, tmp_path, receiver)
    wait_until(lambda: deliveries(exporter).get((SCHEDULE, "webhook", "failed")) == len(accounts),
               90, 0.2, "every delivery failed")
    time.sleep(5)
    assert receiver.count() == len(accounts)
    assert deliveries(exporter)[(SCHEDULE, "webhook", "sent")] == 0
    log = exporter.log_text()
    assert len(re.findall(r'msg="report delivery failed"', log)) == len(accounts)
    assert "HTTP 404" in log
    state = json.loads((output / STATE_FILE).read_text())
    assert all(d["finished"] and d["record"]["status"] == "failed" for d in state["deliveries"])
    assert_no_secret(exporter, output)


def test_slack_format_has_text_and_blocks(stub, exporter_factory, receiver_factory, tmp_path):
    accounts = sorted(sample_data.accounts("small"))
    start, end, key = previous_month()
    expected = helpers.expected_usage(start, end, accounts=accounts)
    receiver = receiver_factory()
    exporter, _ = start_exporter(exporter_factory, stub, tmp_path, receiver, fmt="slack")
    wait_until(lambda: receiver.count() >= len(accounts), 90, 0.2, "one POST per account")
    for body in receiver.bodies():
        account = next(a for a in accounts if a in body["text"])
        assert f"{expected.accounts[account].runs} runs" in body["text"]
        assert key in body["text"]
        assert body["blocks"][0]["type"] == "header"
        fields = [f["text"] for f in body["blocks"][1]["fields"]]
        assert f"*Runs*\n{expected.accounts[account].runs}" in fields
