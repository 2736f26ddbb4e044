"""Scheduled reports mailed through a real SMTP server (tests/integration/smtp_server.py: aiosmtpd
with STARTTLS from a throwaway CA and AUTH checking a username and password): one message per
account and period whose HTML part and attachments are the written files byte for byte and whose
text part's figures are the sums of the test data (helpers.expected_usage, never the exporter's
output); no second message across a restart; a temporary 451 retried and delivered once; a 550
failed and counted without a retry storm; no STARTTLS with require_tls means nothing is sent in
the clear; the password nowhere in logs, metrics or the state file.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

import helpers
from helpers import sample_data, sample_value, wait_until
from smtp_server import SmtpServer

SCHEDULE = "minutely"
FORMATS = ["csv", "json", "html", "focus"]
EXTENSIONS = {"csv": "csv", "json": "json", "html": "html", "focus": "focus.csv"}
ATTACH = ["csv", "focus"]
CONTENT_TYPES = {"csv": "text/csv", "focus": "text/csv", "json": "application/json"}
INCLUDED_RUNS = 100
PRICE_CENTS = 99
STATE_FILE = ".scalr-usage-exporter-state.json"
USER = "reports"
# Recognisable, with a space and a quote, so any spelling of a leak is found.
PASSWORD = "smtp-RECOGNISABLE-9912 'pw'"
FROM = "reports@example.com"
TO = ["finance@example.com", "controller@example.org"]
CC = ["audit@example.net"]
DELIVERIES = "scalr_exporter_report_deliveries_total"
# The delivery framework's first backoff (delivery/delivery_record.h: 30s, doubling): a wrong
# retry would come within this long of the attempt before.
FIRST_BACKOFF = 30


def previous_month():
    first_of_this = dt.datetime.now(dt.timezone.utc).date().replace(day=1)
    start = (first_of_this - dt.timedelta(days=1)).replace(day=1)
    return start, first_of_this, start.strftime("%Y-%m")


def month_before(start: dt.date):
    return (start - dt.timedelta(days=1)).replace(day=1), start


def file_name(account: str, key: str, fmt: str) -> str:
    return f"scalr-usage_{account}_{key}.{EXTENSIONS[fmt]}"


@pytest.fixture
def tls(tmp_path):
    return helpers.make_tls_files(tmp_path / "tls")


@pytest.fixture
def smtp_servers():
    started = []

    def start(**kw) -> SmtpServer:
        server = SmtpServer(**kw)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def overrides(output: Path, server: SmtpServer, tls, password_file=None, smtp=None, email=None):
    relay = {"url": server.url, "from": f"Scalr Reports <{FROM}>", "timeout": "10s"}
    if tls is not None:
        relay["ca_file"] = str(tls.ca_file)
    if password_file is not None:
        relay.update(username=USER, password_file=str(password_file))
    relay.update(smtp or {})
    mail = {"to": TO, "cc": CC, "attach": ATTACH}
    mail.update(email or {})
    return {"billing": {"included_runs": INCLUDED_RUNS, "overage_price": 0.99, "currency": "USD"},
            "reports": {"output_dir": str(output), "keep": 24, "smtp": relay,
                        "schedules": [{"name": SCHEDULE, "cron": "* * * * *",
                                       "period": "previous_month", "formats": FORMATS,
                                       "email": mail}]}}


def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smtp-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


def deliveries(exporter, result: str):
    return sample_value(exporter.metrics(), DELIVERIES, schedule=SCHEDULE, channel="email",
                        result=result)


def wait_for_deliveries(exporter, result: str, count: int, timeout: float = 90):
    try:
        wait_until(lambda: deliveries(exporter, result) == count, timeout, 0.2,
                   f"{count} email deliveries {result}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- exporter log ---\n{exporter.log_text()[-4000:]}") from None


def let_a_retry_window_pass(exporter, seconds: float = FIRST_BACKOFF + 15):
    """Gives a wrong retry (or a second send) the time to happen: more than the first backoff, and
    a minute fire of the schedule, pass while the daemon runs. Not a timing assertion: what is
    checked afterwards is only that nothing more arrived."""
    until = time.time() + max(seconds, 61 - time.time() % 60 + 2)
    wait_until(lambda: time.time() >= until and exporter.alive(), until - time.time() + 30, 0.5,
               "the retry window to pass")


# ---- reading the messages -----------------------------------------------------------------------

def text_figures(text: str) -> dict:
    """The "Name: value" lines of the text part."""
    figures = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            figures[name] = value
    return figures


def hours(seconds: int) -> str:
    return f"{seconds / 3600:.2f}"


def change(current: float, previous: float, delta: str) -> str:
    if previous == 0:
        return f"{delta} (n/a)"
    ratio = (current - previous) / previous * 100
    return f"{delta} ({'+' if ratio > 0 else ''}{ratio:.1f}%)"


def expected_text_figures(account: str, expected, previous, key: str, start, end) -> dict:
    now, before = expected.accounts[account], previous.accounts[account]
    runs_delta = now.runs - before.runs
    hours_delta = (now.seconds - before.seconds) / 3600
    hours_text = f"{hours_delta:.2f}"
    if hours_delta > 0 and hours_text != "0.00":
        hours_text = "+" + hours_text
    if hours_text == "-0.00":
        hours_text = "0.00"
    last = end - dt.timedelta(days=1)
    prev_start, prev_end = month_before(start)
    cents = max(0, now.runs - INCLUDED_RUNS) * PRICE_CENTS
    return {
        "Period": f"{key} ({start} to {last}, UTC)",
        "Runs": str(now.runs),
        "Run hours": hours(now.seconds),
        "Previous period": f"{prev_start} to {prev_end - dt.timedelta(days=1)}",
        "Previous runs": str(before.runs),
        "Previous run hours": hours(before.seconds),
        "Change in runs": change(now.runs, before.runs,
                                 f"+{runs_delta}" if runs_delta > 0 else str(runs_delta)),
        "Change in run hours": change(now.seconds, before.seconds, hours_text),
        "Overage": f"{cents // 100}.{cents % 100:02d} USD",
    }


def message_parts(message):
    """(text, html or None, [(file name, content type, bytes)]) of a received message."""
    assert message.get_content_type() == "multipart/mixed"
    top = list(message.iter_parts())
    alternative = top[0]
    assert alternative.get_content_type() == "multipart/alternative"
    alternatives = {p.get_content_type(): p for p in alternative.iter_parts()}
    # Canonical text is CRLF (RFC 2046); base64 keeps it through decoding.
    text = alternatives["text/plain"].get_content().replace("\r\n", "\n")
    html = alternatives["text/html"].get_payload(decode=True) if "text/html" in alternatives \
        else None
    attachments = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
                   for p in top[1:]]
    for p in top[1:]:
        assert p.get_content_disposition() == "attachment"
    return text, html, attachments


# ---- the tests ----------------------------------------------------------------------------------

def test_one_message_per_account_with_the_written_files_and_never_again(
        stub, exporter_factory, smtp_servers, tls, tmp_path):
    server = smtp_servers(tls=tls, username=USER, password=PASSWORD)
    output = tmp_path / "reports"
    pw = password_file(tmp_path)
    start, end, key = previous_month()
    accounts = list(sample_data.accounts("small"))
    names = helpers.account_names("small")
    exporter = exporter_factory(stub, overrides=overrides(output, server, tls, pw))
    wait_for_deliveries(exporter, "sent", len(accounts))
    assert deliveries(exporter, "failed") == 0

    received = server.received
    assert len(received) == len(accounts)
    expected = helpers.expected_usage(start, end, accounts=accounts)
    previous = helpers.expected_usage(*month_before(start), accounts=accounts)
    directory = output / SCHEDULE
    seen = set()
    for mail in received:
        # Over STARTTLS, authenticated as USER, to every recipient of to and cc.
        assert mail.tls and mail.user == USER
        assert mail.mail_from == FROM
        assert sorted(mail.rcpt_tos) == sorted(TO + CC)
        message = mail.message()
        assert message["From"].addresses[0].addr_spec == FROM
        assert [a.addr_spec for a in message["To"].addresses] == TO
        assert [a.addr_spec for a in message["Cc"].addresses] == CC
        assert message["Bcc"] is None
        assert message["MIME-Version"] == "1.0"
        assert re.fullmatch(r"<[^@<>]+@example\.com>", message["Message-ID"])
        sent_at = message["Date"].datetime
        assert abs((sent_at - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 600
        text, html, attachments = message_parts(message)
        account = re.search(r"^Account: .*\((acc-[a-z0-9]+)\)$", text, re.M).group(1)
        seen.add(account)
        # The default subject, with an em dash (RFC 2047 on the wire) and the account's name.
        assert str(message["Subject"]) == f"Scalr usage {key} \u2014 {names[account]}"
        assert "=?UTF-8?B?" in mail.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
        # The HTML body and the attachments are the files on disk, byte for byte.
        assert html == (directory / file_name(account, key, "html")).read_bytes()
        assert [(n, t) for n, t, _ in attachments] == \
            [(file_name(account, key, f), CONTENT_TYPES[f]) for f in ATTACH]
        for (_, _, data), fmt in zip(attachments, ATTACH):
            assert data == (directory / file_name(account, key, fmt)).read_bytes(), fmt
        # The summary's figures are the sums of the test data.
        figures = text_figures(text)
        want = expected_text_figures(account, expected, previous, key, start, end)
        assert {k: figures.get(k) for k in want} == want, account
        assert figures["Account"] == f"{names[account]} ({account})"
    assert seen == set(accounts)

    # A minute fire later, and after a restart with the same state: no second message.
    let_a_retry_window_pass(exporter)
    assert len(server.received) == len(accounts)
    exporter.stop()
    restarted = exporter_factory(stub, overrides=overrides(output, server, tls, pw))
    restarted.wait_for_log(r'msg="scheduled reports checked"', timeout=30)
    let_a_retry_window_pass(restarted)
    assert len(server.received) == len(accounts)
    assert server.counts()["data"] == len(accounts)
    # The counter is of this process: nothing sent, nothing failed.
    assert deliveries(restarted, "sent") == 0
    assert deliveries(restarted, "failed") == 0

    # The password: in no log line, metric or state file, in any spelling.
    places = {"log": exporter.log_text() + restarted.log_text(),
              "metrics": restarted.scrape().body,
              "state": (output / STATE_FILE).read_text()}
    for where, data in places.items():
        assert helpers.find_secrets(data, [PASSWORD]) == [], where


def test_a_temporary_failure_is_retried_and_delivered_once(stub, exporter_factory, smtp_servers,
                                                           tls, tmp_path):
    server = smtp_servers(tls=tls, username=USER, password=PASSWORD, tempfail_first=1)
    account = sample_data.ACCOUNT_TINY
    exporter = exporter_factory(stub, accounts=[account],
                                overrides=overrides(tmp_path / "reports", server, tls,
                                                    password_file(tmp_path)))
    wait_for_deliveries(exporter, "sent", 1, timeout=FIRST_BACKOFF + 120)
    assert len(server.received) == 1
    assert server.counts()["data"] == 2  # a 451, then accepted after the backoff
    exporter.wait_for_log(r'msg="report delivery will be retried".*channel=email.*'
                          r'error="SMTP 451 4\.3\.0 try again later"')
    exporter.wait_for_log(r'msg="report delivered".*channel=email.*attempts=2')
    # Delivered is the end: later fires send nothing more.
    let_a_retry_window_pass(exporter)
    assert server.counts()["data"] == 2
    assert deliveries(exporter, "failed") == 0


def test_a_permanent_failure_is_counted_without_a_retry_storm(stub, exporter_factory,
                                                              smtp_servers, tls, tmp_path):
    server = smtp_servers(tls=tls, username=USER, password=PASSWORD,
                          reject_rcpt="550 5.1.1 no such user here")
    account = sample_data.ACCOUNT_TINY
    exporter = exporter_factory(stub, accounts=[account],
                                overrides=overrides(tmp_path / "reports", server, tls,
                                                    password_file(tmp_path)))
    wait_for_deliveries(exporter, "failed", 1)
    assert deliveries(exporter, "sent") == 0
    exporter.wait_for_log(r'msg="report delivery failed".*channel=email.*attempts=1.*'
                          r'error="SMTP 550 5\.1\.1 no such user here"')
    # One attempt: nothing more after the time a retry would have taken.
    let_a_retry_window_pass(exporter)
    assert server.counts()["rcpt"] == 1
    assert server.counts()["data"] == 0
    assert server.received == []


def test_no_starttls_with_require_tls_sends_nothing_in_the_clear(stub, exporter_factory,
                                                                 smtp_servers, tmp_path):
    server = smtp_servers(tls=None)  # a plain server: no STARTTLS offered
    account = sample_data.ACCOUNT_TINY
    exporter = exporter_factory(stub, accounts=[account],
                                overrides=overrides(tmp_path / "reports", server, None))
    # A relay without STARTTLS stays so until someone changes it: failed at once, not retried.
    wait_for_deliveries(exporter, "failed", 1)
    let_a_retry_window_pass(exporter)
    assert server.counts()["mail"] == 0
    assert server.received == []


def test_wrong_password_is_a_failure_and_the_password_is_not_logged(stub, exporter_factory,
                                                                    smtp_servers, tls, tmp_path):
    server = smtp_servers(tls=tls, username=USER, password="the-right-one")
    account = sample_data.ACCOUNT_TINY
    exporter = exporter_factory(stub, accounts=[account],
                                overrides=overrides(tmp_path / "reports", server, tls,
                                                    password_file(tmp_path)))
    # 535: retrying with the same password cannot help.
    wait_for_deliveries(exporter, "failed", 1)
    exporter.wait_for_log(r'msg="report delivery failed".*channel=email.*attempts=1.*'
                          r'error="SMTP 535 ')
    let_a_retry_window_pass(exporter)
    attempts = server.counts()["auth"]
    assert len(attempts) == 1 and attempts[0][1:] == (USER, False)
    assert server.received == []
    for data in (exporter.log_text(), exporter.scrape().body):
        assert helpers.find_secrets(data, [PASSWORD]) == []


def test_smtps_with_the_relays_ca_and_a_certificate_that_does_not_verify(
        stub, exporter_factory, smtp_servers, tls, tmp_path):
    account = sample_data.ACCOUNT_TINY
    # TLS from the first byte, verified against ca_file: delivered.
    server = smtp_servers(tls=tls, username=USER, password=PASSWORD, implicit_tls=True)
    exporter = exporter_factory(stub, accounts=[account],
                                overrides=overrides(tmp_path / "a", server, tls,
                                                    password_file(tmp_path)))
    wait_for_deliveries(exporter, "sent", 1)
    assert len(server.received) == 1 and server.received[0].user == USER
    exporter.stop()
    # The same relay without its CA (the system's bundle does not know it): failed, since only a
    # configuration change can fix it, and nothing reached the server's AUTH or MAIL.
    other = smtp_servers(tls=tls, username=USER, password=PASSWORD, implicit_tls=True)
    unverified = exporter_factory(stub, accounts=[account],
                                  overrides=overrides(tmp_path / "b", other, None,
                                                      password_file(tmp_path)))
    wait_for_deliveries(unverified, "failed", 1)
    unverified.wait_for_log(r'msg="report delivery failed".*channel=email.*attempts=1.*'
                            r'error="SSL certificate problem')
    assert other.counts() == {"mail": 0, "rcpt": 0, "data": 0, "auth": []}


def test_email_without_smtp_is_a_configuration_error_naming_both_keys(stub, sue_binary, tmp_path):
    token = tmp_path / "token"
    token.write_text(stub.token + "\n")
    config = helpers.exporter_config(stub, helpers.free_port(), token, None, {
        "reports": {"output_dir": str(tmp_path / "r"),
                    "schedules": [{"name": SCHEDULE, "cron": "* * * * *",
                                   "period": "previous_month", "formats": ["csv"],
                                   "email": {"to": TO}}]}})
    path = tmp_path / "config.yaml"
    path.write_text(helpers.to_yaml(config))
    import subprocess
    r = subprocess.run([str(sue_binary), f"--config.file={path}", "--check-config"],
                       capture_output=True, text=True, timeout=60, env=helpers._clean_env())
    assert r.returncode == 1, r.stderr
    assert "reports.schedules[0].email: needs reports.smtp" in r.stderr
