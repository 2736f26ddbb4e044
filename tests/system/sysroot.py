"""A minimal Debian 12 root with systemd, booted as PID 1 of its own PID/mount/UTS/IPC namespaces.

The root is made once by debootstrap (minbase plus BASE_PACKAGES, about 2 minutes) and cached
outside the repository under CACHE_DIR, keyed by the package list, suite and mirror. Every boot
runs on a throwaway overlay (or copy) of that cached root, so the cache stays pristine. The network
namespace is the host's: a stand-in Scalr server on the host's loopback is reachable from inside.

Run `python3 sysroot.py` to build (or find) the cached root and print its path.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional

CACHE_DIR = Path(os.environ.get("SUE_SYSTEM_CACHE", "/var/cache/scalr-usage-exporter-tests"))
SUITE = "bookworm"
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "ca-certificates", "curl")


def debian_mirror() -> str:
    """The Debian mirror apt on this host already uses (deb822 or one-line sources)."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            texts.append(path.read_text())
        except OSError:
            pass
    text = "\n".join(texts)
    for pattern in (r"^URIs:\s*(\S+/debian)/?\s*$", r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s+bookworm\b"):
        m = re.search(pattern, text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def cache_key(mirror: str) -> str:
    spec = "|".join([SUITE, "minbase", ",".join(sorted(BASE_PACKAGES)), mirror])
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def cached_root(log=print) -> Path:
    """The cached pristine root, made by debootstrap if absent. Built in a temporary directory and
    renamed into place, so an interrupted build never leaves a half root behind."""
    mirror = debian_mirror()
    root = CACHE_DIR / f"bookworm-minbase-{cache_key(mirror)}"
    if (root / ".complete").is_file():
        return root
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    building = CACHE_DIR / f"{root.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    log(f"sysroot: debootstrap {SUITE} into {building} from {mirror} (about 2 minutes, once)")
    r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                        SUITE, str(building), mirror], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        raise RuntimeError(f"debootstrap failed ({r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    # No getty or other consoles: nothing inside needs them, and they would fight over the tty.
    (building / "etc/systemd/system/getty.target.wants").mkdir(parents=True, exist_ok=True)
    for unit in ("getty@tty1.service", "console-getty.service"):
        (building / "etc/systemd/system" / unit).unlink(missing_ok=True)
        (building / "etc/systemd/system" / unit).symlink_to("/dev/null")
    (building / ".complete").write_text(mirror + "\n")
    try:
        building.rename(root)
    except OSError:  # someone else finished first
        shutil.rmtree(building, ignore_errors=True)
    return root


if __name__ == "__main__":
    print(cached_root())


@contextlib.contextmanager
def apt_cache_lock():
    """Held while apt runs in a boot: the package lists and archives under CACHE_DIR are shared by
    every boot on this host, and apt gives up at once on a lock another apt holds."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def namespaces_available() -> Optional[str]:
    """None if this host can boot the root (root user, unshare and nsenter, PID and mount
    namespaces, overlayfs or a copy); otherwise why not."""
    if os.geteuid() != 0:
        return "needs root (mount, pivot_root and PID namespaces)"
    for tool in ("unshare", "nsenter", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (scripts/install-deps installs it)"
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "true"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return f"cannot create PID/mount/UTS/IPC namespaces here: {r.stderr.strip()}"
    return None


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent (this test process) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb"}


class Boot:
    """systemd as PID 1 of new PID, mount, UTS and IPC namespaces, on a throwaway overlay of the
    cached root (the recipe of docs/operations.md). The host sees the root's files under .root.
    Apt's package lists and downloaded archives are bind-mounted from CACHE_DIR, so dependencies
    come from the archive once and are reused. Always call close(), also after a failure."""

    def __init__(self, lower: Path, workdir: Path):
        self.workdir = Path(workdir)
        self.root = self.workdir / "root"
        self.log_path = self.workdir / "systemd.log"
        self.proc: Optional[subprocess.Popen] = None
        self.pid: Optional[int] = None  # host PID of the namespace's systemd
        self._mounted = False
        for d in ("upper", "work", "root"):
            (self.workdir / d).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={lower},upperdir={self.workdir / 'upper'},"
                        f"workdir={self.workdir / 'work'}", str(self.root)],
                       check=True, capture_output=True, timeout=60)
        self._mounted = True
        binds = []
        for name, inside in (("apt-lists", "var/lib/apt/lists"),
                             ("apt-archives", "var/cache/apt/archives")):
            host = CACHE_DIR / name
            (host / "partial").mkdir(parents=True, exist_ok=True)
            binds.append(f"mount --bind {host} {self.root / inside}")
        r = self.root
        script = "; ".join([
            "set -e", f"mount --bind {r} {r}", *binds, f"mount -t proc proc {r}/proc",
            f"mount --rbind /sys {r}/sys", f"mount --rbind /dev {r}/dev",
            f"mount -t tmpfs tmpfs {r}/run", f"mount -t tmpfs tmpfs {r}/tmp",
            f"cd {r}", "mkdir -p old", "pivot_root . old", "umount -l /old",
            "exec env -i container=other /lib/systemd/systemd --system"])
        self._log = open(self.log_path, "wb")
        # Should the test process itself be killed (a ctest timeout), nothing outlives it: unshare
        # gets SIGKILL when its parent dies, and --kill-child passes that on to systemd.
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc",
             "--propagation", "private", "bash", "-c", script], stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, env=CLEAN_ENV, preexec_fn=_die_with_parent)
        try:
            self.pid = self._wait_for_child()
            self.wait_booted()
        except BaseException:
            self.close()
            raise

    def _wait_for_child(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unshare exited {self.proc.returncode}: {self.log_text()}")
            try:
                children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            except OSError:
                children = ""
            for child in children.split():
                if Path(f"/proc/{child}/exe").resolve().name == "systemd":
                    return int(child)
            time.sleep(0.05)
        raise RuntimeError(f"no systemd in the namespace after 30 s: {self.log_text()}")

    def wait_booted(self, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.run("systemctl", "is-system-running", check=False, timeout=30).stdout.strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(0.2)
        raise RuntimeError(f"systemd did not finish booting in {timeout} s (state {state!r}); "
                           f"jobs: {self.run('systemctl', 'list-jobs', check=False).stdout}")

    def run(self, *argv, check: bool = True, timeout: float = 120,
            input: Optional[str] = None) -> subprocess.CompletedProcess:
        """Runs argv inside the namespaces (as root, in the booted root's file system)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "-p", "-u", "-i", "--", *argv],
                           capture_output=True, text=True, timeout=timeout, env=CLEAN_ENV,
                           input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def show(self, unit: str, *props: str) -> dict:
        out = self.run("systemctl", "show", unit, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        """SIGKILL to the namespace's PID 1 ends every process in it (PID 1 ignores SIGTERM) and
        with the last one its mount namespace; then the overlay goes and the throwaway layer."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(30)
            self._log.close()
        if self._mounted:
            for _ in range(50):
                if subprocess.run(["umount", str(self.root)], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            else:
                subprocess.run(["umount", "-l", str(self.root)], capture_output=True)
            self._mounted = False
        for d in ("upper", "work"):
            shutil.rmtree(self.workdir / d, ignore_errors=True)
