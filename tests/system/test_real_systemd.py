"""The Debian package under a real systemd 252 as PID 1 (see sysroot.py for the boot).

One boot per run: the .deb built by cpack from the test's build tree is installed with apt-get in a
minimal Debian 12 root (its dependencies from the archive), configured against the stand-in Scalr
server on the host's loopback, then driven with systemctl exactly as an operator would. The tests
run in file order and each leaves the service in the state the next one expects (started, running,
stopped, purged).

Skipped, with the reason, where this host cannot create the namespaces (not root, no unshare).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
import helpers  # noqa: E402
from helpers import sample_data, sample_value, wait_until  # noqa: E402

import sysroot  # noqa: E402

BUILD_DIR = Path(os.environ.get("SUE_BUILD_DIR", HERE.parents[1] / "build"))
UNIT = "scalr-usage-exporter.service"
CONFIG = "etc/scalr-usage-exporter/scalr-usage-exporter.yml"
DROP_IN = "etc/systemd/system/scalr-usage-exporter.service.d/system-test.conf"
STATE = "var/lib/private/scalr-usage-exporter"
SCHEDULE = "monthly"
# Short enough to see pings and a watchdog kill within a test; everything else is the shipped unit.
WATCHDOG_SEC = 6
MAX_EXPOSURE = 2.0
ACCOUNTS = [sample_data.ACCOUNT_MAIN, "acc-demo2000000001"]


def build_deb(out: Path) -> Path:
    """The package, made by cpack from the test's build tree, as test_package.py does."""
    r = subprocess.run(["cpack", "-G", "DEB", "-B", str(out), "--config",
                        str(BUILD_DIR / "CPackConfig.cmake")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (path,) = out.glob("scalr-usage-exporter_*_amd64.deb")
    return path


class System:
    """The booted root, the stub it polls and what the tests learn along the way."""

    def __init__(self, boot: sysroot.Boot, stub: helpers.StubServer):
        self.boot, self.stub = boot, stub
        self.port = helpers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.credentials = False

    def path(self, inside: str) -> Path:
        return self.boot.root / inside

    def show(self, *props) -> dict:
        return self.boot.show(UNIT, *props)

    def metrics(self) -> dict:
        r = helpers.http_request(self.url + "/metrics", timeout=10)
        assert r.status == 200, r
        return helpers.parse_metrics(r.body.decode())

    def journal(self) -> str:
        return self.boot.run("journalctl", "--no-pager", "-o", "cat", "-u", UNIT,
                             check=False).stdout

    def config_text(self, extra: str = "") -> str:
        token = "  token_credential: scalr-token\n" if self.credentials else ""
        accounts = ", ".join(ACCOUNTS)
        return (f"web:\n  listen_address: 127.0.0.1:{self.port}\n"
                f"scalr:\n  url: {self.stub.url}\n{token}  accounts: [{accounts}]\n"
                "  timeout: 5s\n"
                "poll:\n  interval: 2s\n"
                "reports:\n  output_dir: /var/lib/scalr-usage-exporter/reports\n"
                f"  schedules:\n    - name: {SCHEDULE}\n      cron: \"* * * * *\"\n"
                "      period: previous_month\n      formats: [csv, json]\n" + extra)


def credentials_work(boot: sysroot.Boot) -> bool:
    """Whether this systemd hands a unit its credentials: a throwaway unit with SetCredential=."""
    r = boot.run("systemd-run", "--quiet", "--wait", "--pipe", "-p", "SetCredential=probe:works",
                 "/bin/sh", "-c", 'cat "$CREDENTIALS_DIRECTORY/probe"', check=False, timeout=60)
    return r.returncode == 0 and r.stdout.strip() == "works"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    if not (BUILD_DIR / "CPackConfig.cmake").is_file():
        pytest.skip(f"no configured build tree at {BUILD_DIR} (set SUE_BUILD_DIR)")
    if os.environ.get("SUE_SANITIZERS"):
        pytest.skip("the package of a sanitizer build is not what ships, and the unit's sandbox "
                    "denies LeakSanitizer its ptrace: proven with the regular build (make test)")
    why = sysroot.namespaces_available()
    if why:
        pytest.skip(f"no real systemd here: {why}")
    lower = sysroot.cached_root()
    workdir = tmp_path_factory.mktemp("system")
    deb = build_deb(workdir / "deb")
    stub = helpers.StubServer(workdir / "stub")
    boot = None
    try:
        boot = sysroot.Boot(lower, workdir / "boot")
        s = System(boot, stub)
        s.credentials = credentials_work(boot)
        shutil.copy(deb, s.path("root") / deb.name)
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", f"/root/{deb.name}"]
        with sysroot.apt_cache_lock():  # the cached lists and archives are shared between runs
            r = boot.run(*install, check=False, timeout=900)
            if r.returncode != 0:  # no or stale package lists in the cache: fetch, try again
                boot.run("apt-get", "update", "-q", timeout=900)
                boot.run(*install, timeout=900)
        s.path("root").joinpath(deb.name).unlink()
        yield s
    finally:
        if boot is not None:
            boot.close()
        stub.stop()


# ---- the tests, in order --------------------------------------------------------------------------

def test_installed_but_not_enabled(system):
    b = system.boot
    assert "Status: install ok installed" in b.run("dpkg", "-s", "scalr-usage-exporter").stdout
    # procps is what /bin/kill would need: the unit must not rely on it.
    assert b.run("dpkg", "-s", "procps", check=False).returncode != 0, "procps is installed"
    assert b.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() == "disabled"
    assert b.run("systemctl", "is-active", UNIT, check=False).stdout.strip() == "inactive"


def test_start_is_active_only_after_ready(system):
    b, stub = system.boot, system.stub
    system.path(CONFIG).write_text(system.config_text())
    drop_in = system.path(DROP_IN)
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    conf = f"[Service]\nWatchdogSec={WATCHDOG_SEC}s\n"
    if system.credentials:
        credstore = system.path("etc/credstore")
        credstore.mkdir(mode=0o700, exist_ok=True)
        token = credstore / "scalr-usage-exporter.token"
        token.write_text(stub.token)
        token.chmod(0o600)
    else:  # no credentials in this sandbox: the daemon's fallback, the environment
        conf += f"Environment=SCALR_TOKEN={stub.token}\n"
    drop_in.write_text(conf)
    b.run("systemctl", "daemon-reload")
    assert DROP_IN.split("/")[-1] in b.run("systemctl", "cat", UNIT).stdout

    # The first request of the first poll takes 4 s in the stub (under scalr.timeout, 5 s): the
    # listener is up meanwhile, READY=1 is not sent yet.
    stub.set_fault("slow", seconds=4, count=1)
    b.run("systemctl", "start", "--no-block", UNIT)
    wait_until(lambda: helpers.http_request(system.url + "/-/healthy", timeout=2).status == 200,
               60, 0.1, "the listener")
    assert any(r["status"] is None for r in stub.api_requests()), "the slow poll is not in flight"
    state = system.show("ActiveState", "SubState")
    assert state == {"ActiveState": "activating", "SubState": "start"}, state

    wait_until(lambda: system.show("ActiveState")["ActiveState"] == "active", 90, 0.1, "active")
    # READY=1 came after the first poll: its results are served the moment the unit is active.
    samples = system.metrics()
    for account in ACCOUNTS:
        assert sample_value(samples, "scalr_up", account_id=account) == 1, account
    props = system.show("SubState", "StatusText", "Type", "WatchdogUSec")
    assert props["SubState"] == "running" and props["Type"] == "notify", props
    assert props["WatchdogUSec"] == f"{WATCHDOG_SEC}s", props
    assert re.search(rf"^(first poll done; serving on 127\.0\.0\.1:{system.port}|polled 2 accounts: 2 up, 0 failing)$",
                     props["StatusText"]), props
    wait_until(lambda: system.show("StatusText")["StatusText"] == "polled 2 accounts: 2 up, 0 failing",
               30, 0.2, "the STATUS= of a later poll")


def test_watchdog_pings_advance(system):
    seen = []

    def advanced():
        seen.append(int(system.show("WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]))
        return len(set(seen)) >= 3 and seen[-1] > seen[0]
    wait_until(advanced, 4 * WATCHDOG_SEC, 0.2, "two watchdog pings")
    assert system.show("ActiveState")["ActiveState"] == "active"


class Scraper:
    """Scrapes /metrics without pause in a thread and records every failure."""

    def __init__(self, url):
        self.url, self.ok, self.failures = url, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                r = helpers.http_request(self.url, timeout=10)
                if r.status == 200:
                    self.ok += 1
                else:
                    self.failures.append(r.status)
            except Exception as e:  # noqa: BLE001
                self.failures.append(repr(e))
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join(20)


def reload_flag(system):
    return sample_value(system.metrics(), "scalr_exporter_config_last_reload_successful")


def test_reload_keeps_serving_and_reports_bad_config(system):
    b = system.boot
    pid = system.show("MainPID")["MainPID"]
    assert reload_flag(system) == 1
    scraper = Scraper(system.url + "/metrics")
    try:
        loaded = lambda: sample_value(
            system.metrics(), "scalr_exporter_config_last_reload_success_timestamp_seconds")
        first = loaded()
        time.sleep(1.1)  # the timestamp has a resolution of seconds: let one pass (not a sync)
        r = b.run("systemctl", "reload", UNIT, check=False, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr + system.journal()[-3000:]
        wait_until(lambda: loaded() > first, 30, 0.1, "the reload to load the config again")
        assert reload_flag(system) == 1

        system.path(CONFIG).write_text(system.config_text("bogus_key: 1\n"))
        assert b.run("systemctl", "reload", UNIT, check=False, timeout=60).returncode == 0
        wait_until(lambda: reload_flag(system) == 0, 30, 0.1, "the failed reload exposed")
        assert system.show("ActiveState")["ActiveState"] == "active"

        system.path(CONFIG).write_text(system.config_text())
        assert b.run("systemctl", "reload", UNIT, check=False, timeout=60).returncode == 0
        wait_until(lambda: reload_flag(system) == 1, 30, 0.1, "the fixed config reloaded")
    finally:
        scraper.stop()
    assert not scraper.failures, scraper.failures[:5]
    assert scraper.ok > 10
    assert system.show("MainPID")["MainPID"] == pid, "a reload must not restart the daemon"
    assert "bogus_key" in system.journal()
    assert "203/EXEC" not in system.journal()


def test_scheduled_report_in_state_directory(system):
    state = system.path(STATE)
    out = state / "reports" / SCHEDULE

    def written():
        names = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
        return all(any(n.startswith(f"scalr-usage_{a}_") and n.endswith(ext) for n in names)
                   for a in ACCOUNTS for ext in (".csv", ".json")) and names
    names = wait_until(written, 60, 0.2, "the catch-up report files")
    assert len(names) == 2 * len(ACCOUNTS), names

    pid = system.show("MainPID")["MainPID"]
    status = system.boot.run("cat", f"/proc/{pid}/status").stdout
    uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
    assert 61184 <= uid <= 65519, f"not a dynamic user: {uid}"
    assert system.path("var/lib/scalr-usage-exporter").resolve() == \
        system.path("var/lib/private/scalr-usage-exporter").resolve()
    # The unit's contract: /var/lib/private and the state directory 0700 (StateDirectoryMode=),
    # directories the daemon makes 0700 (its 0750 under UMask=0077), report files exactly 0640
    # (the daemon sets the mode itself), all owned by the dynamic user.
    assert system.path("var/lib/private").stat().st_mode & 0o777 == 0o700
    for path in [state, *sorted(state.rglob("*"))]:
        st = path.stat()
        assert st.st_uid == uid and st.st_gid == uid, (path, st.st_uid, st.st_gid)
        mode = st.st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o640), (path, oct(mode))


def test_security_exposure_under_systemd(system):
    r = system.boot.run("systemd-analyze", "security", "--no-pager", UNIT, check=False)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout


def restarts(system) -> int:
    return int(system.show("NRestarts")["NRestarts"])


def wait_restarted(system, before: int, old_pid: str, timeout: float = 90):
    def back():
        p = system.show("NRestarts", "ActiveState", "MainPID")
        return (int(p["NRestarts"]) == before + 1 and p["ActiveState"] == "active"
                and p["MainPID"] not in ("0", old_pid))
    wait_until(back, timeout, 0.2, "the restart")
    wait_until(lambda: reload_flag(system) == 1, 30, 0.2, "the restarted daemon serving")


def test_sigkill_is_restarted(system):
    pid, before = system.show("MainPID")["MainPID"], restarts(system)
    system.boot.run("/bin/sh", "-c", f"kill -9 {pid}")
    wait_restarted(system, before, pid)
    assert "status=9/KILL" in system.journal()


def test_hung_daemon_is_killed_by_the_watchdog(system):
    """A daemon that stops answering (SIGSTOP: no thread runs, so no WATCHDOG=1) is aborted by
    systemd after WatchdogSec= and restarted. The daemon's own liveness check, which stops the
    pings when the poll loop is stuck, is covered by tests/unit/test_watchdog.cpp: its threshold
    is 15 minutes at least, too long for this suite."""
    pid, before = system.show("MainPID")["MainPID"], restarts(system)
    system.boot.run("/bin/sh", "-c", f"kill -STOP {pid}")
    wait_restarted(system, before, pid, timeout=WATCHDOG_SEC + 90)
    assert "Watchdog timeout" in system.journal()


def test_credentials_reach_the_daemon(system):
    if not system.credentials:
        pytest.skip("this sandbox's systemd hands units no credentials, not even SetCredential= of "
                    "a throwaway systemd-run unit, so LoadCredential= cannot be proven here; the "
                    "token came from a drop-in's Environment= instead")
    assert "token_credential: scalr-token" in system.path(CONFIG).read_text()
    samples = system.metrics()
    assert all(sample_value(samples, "scalr_up", account_id=a) == 1 for a in ACCOUNTS)


def test_stop_is_clean_and_quick(system):
    timeout_stop = system.show("TimeoutStopUSec")["TimeoutStopUSec"]
    assert re.fullmatch(r"\d+s", timeout_stop), timeout_stop
    limit = int(timeout_stop[:-1])
    started = time.monotonic()
    system.boot.run("systemctl", "stop", UNIT, timeout=120)
    elapsed = time.monotonic() - started
    props = system.show("ActiveState", "Result", "ExecMainCode", "ExecMainStatus")
    assert props["ActiveState"] == "inactive" and props["Result"] == "success", props
    assert props["ExecMainStatus"] == "0", props
    assert elapsed < limit, f"stop took {elapsed:.1f} s, TimeoutStopSec is {limit} s"


def test_purge_leaves_nothing_behind(system):
    b = system.boot
    # What the test itself added as the administrator goes first.
    shutil.rmtree(system.path(DROP_IN).parent)
    shutil.rmtree(system.path("etc/credstore"), ignore_errors=True)
    b.run("systemctl", "daemon-reload")
    with sysroot.apt_cache_lock():
        b.run("apt-get", "purge", "-y", "-q", "scalr-usage-exporter", timeout=300)
    found = b.run("find", "/", "-xdev", "(", "-iname", "*scalr*usage*", "-o", "-iname",
                  "*scalr-usage-exporter*", ")", "-print", check=False).stdout.split()
    found += b.run("find", "/run", "/tmp", "-iname", "*scalr*", "-print", check=False).stdout.split()
    assert found == [], found
    assert b.run("systemctl", "cat", UNIT, check=False).returncode != 0
