"""The Debian package: built with cpack from the test's build tree, inspected with dpkg-deb,
unpacked into a temporary root, and the unpacked binary run."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BUILD_DIR = Path(os.environ.get("SUE_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    if not (BUILD_DIR / "CPackConfig.cmake").is_file():
        pytest.skip(f"no configured build tree at {BUILD_DIR} (set SUE_BUILD_DIR)")
    for tool in ("cpack", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (scripts/install-deps installs it)")
    out = tmp_path_factory.mktemp("deb")
    result = subprocess.run(["cpack", "-G", "DEB", "-B", str(out), "--config",
                             str(BUILD_DIR / "CPackConfig.cmake")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    debs = list(out.glob("scalr-usage-exporter_*_amd64.deb"))
    assert len(debs) == 1, list(out.iterdir())
    assert re.fullmatch(r"scalr-usage-exporter_\d+\.\d+\.\d+_amd64\.deb", debs[0].name)
    return debs[0]


def dpkg_deb(*args) -> str:
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def test_contents_are_where_debian_expects_them(deb):
    listing = dpkg_deb("-c", str(deb))
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for wanted in ("/usr/bin/scalr-usage-exporter",
                   "/lib/systemd/system/scalr-usage-exporter.service",
                   "/etc/scalr-usage-exporter/scalr-usage-exporter.yml",
                   "/etc/default/scalr-usage-exporter",
                   "/usr/share/scalr-usage-exporter/grafana/dashboards/scalr-usage.json",
                   "/usr/share/scalr-usage-exporter/prometheus/rules.yml",
                   "/usr/share/scalr-usage-exporter/postgres/schema.sql",
                   "/usr/share/scalr-usage-exporter/postgres/report_state.sql"):
        assert wanted in paths, wanted
    binary_line = next(l for l in listing.splitlines() if l.endswith("/usr/bin/scalr-usage-exporter"))
    assert binary_line.startswith("-rwxr-xr-x")


def test_control_fields_and_conffiles(deb):
    control = dpkg_deb("-f", str(deb))
    fields = dict(re.findall(r"^(\S+): (.*)$", control, re.M))
    assert fields["Package"] == "scalr-usage-exporter"
    assert fields["Architecture"] == "amd64"
    depends = fields["Depends"]
    # Computed by dpkg-shlibdeps from what the binary links, not written by hand.
    for library in ("libcivetweb1", "libcurl4", "libpqxx-6.4", "libprometheus-cpp-core1.0",
                    "libyaml-cpp0.7", "libc6"):
        assert library in depends, depends
    workdir = Path(deb).parent / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(workdir)], check=True, timeout=60)
    conffiles = (workdir / "conffiles").read_text().split()
    assert "/etc/scalr-usage-exporter/scalr-usage-exporter.yml" in conffiles
    assert "/etc/default/scalr-usage-exporter" in conffiles


def test_unpacked_binary_runs(deb, tmp_path):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=60)
    binary = root / "usr/bin/scalr-usage-exporter"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0, version.stderr
    assert re.match(r"scalr-usage-exporter, version \d+\.\d+\.\d+", version.stdout)
    helptext = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    for flag in ("--config.file", "--web.listen-address", "--log.level", "--log.format",
                 "--check-config", "--version"):
        assert flag in helptext.stdout, flag
    # The shipped example config is valid apart from the token, which the user supplies.
    token = tmp_path / "token"
    token.write_text("example-token")
    config = (root / "etc/scalr-usage-exporter/scalr-usage-exporter.yml").read_text()
    config = config.replace("/etc/scalr-usage-exporter/token", str(token))
    (tmp_path / "c.yml").write_text(config)
    check = subprocess.run([str(binary), f"--config.file={tmp_path / 'c.yml'}", "--check-config"],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_debian_docs_changelog_copyright_and_man_page(deb, tmp_path):
    listing = dpkg_deb("-c", str(deb))
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for wanted in ("/usr/share/doc/scalr-usage-exporter/copyright",
                   "/usr/share/doc/scalr-usage-exporter/changelog.gz",
                   "/usr/share/man/man1/scalr-usage-exporter.1.gz"):
        assert wanted in paths, wanted


def test_man_page_is_the_help(deb, tmp_path):
    """The man page is formatted from the text --help prints: every flag of one is in the other,
    and groff renders it without a warning."""
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=60)
    man = gzip.decompress((root / "usr/share/man/man1/scalr-usage-exporter.1.gz").read_bytes())
    roff = man.decode()
    helptext = subprocess.run([str(root / "usr/bin/scalr-usage-exporter"), "--help"],
                              capture_output=True, text=True, timeout=30).stdout
    flag = r"--?[a-z][a-z.-]*[a-z]"
    help_flags = set(re.findall(flag, helptext))
    man_flags = set(re.findall(flag, roff.replace("\\-", "-")))
    assert "--config.file" in help_flags and "--period" in help_flags
    assert help_flags <= man_flags, help_flags - man_flags
    assert ".TH SCALR\\-USAGE\\-EXPORTER 1" in roff
    groff = shutil.which("groff")
    if groff:
        r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z"], input=man, capture_output=True,
                           timeout=60)
        assert r.returncode == 0 and not r.stderr, r.stderr.decode()


def lintian_tags(deb) -> dict:
    """{"E"/"W"/"I"/...: {tag, ...}} of lintian's verdict on the package."""
    lintian = shutil.which("lintian")
    if lintian is None:
        pytest.fail("lintian is required (scripts/install-deps installs it)")
    r = subprocess.run([lintian, "--tag-display-limit", "0", str(deb)], capture_output=True,
                       text=True, timeout=600)
    assert "internal error" not in r.stderr.lower(), r.stderr
    tags: dict = {}
    for line in r.stdout.splitlines():
        m = re.match(r"([EWIPXCO]): scalr-usage-exporter(?: \w+)?: (\S+)", line)
        if m:
            tags.setdefault(m.group(1), set()).add(m.group(2))
    return tags


def test_lintian_no_errors_and_every_warning_documented(deb):
    if os.environ.get("SUE_SANITIZERS"):
        pytest.skip("a sanitizer build's package is not what ships; lintian judges the regular one")
    tags = lintian_tags(deb)
    assert not tags.get("E"), tags["E"]
    documented = (Path(os.environ.get("SUE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
                  / "docs" / "operations.md").read_text()
    undocumented = {t for t in tags.get("W", set()) if f"`{t}`" not in documented}
    assert not undocumented, f"lintian warnings not justified in docs/operations.md: {undocumented}"


def test_programs_the_unit_runs_are_essential_or_depended_on(deb, tmp_path):
    """Every program an Exec*= line of the packaged unit runs is ours, in an Essential: yes
    package, or in Depends: (/bin/kill of procps was none of these: reload failed 203/EXEC on a
    minimal Debian). Package ownership is looked up in this host's dpkg database (Debian 12)."""
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True, timeout=60)
    unit = (root / "lib/systemd/system/scalr-usage-exporter.service").read_text()
    programs = {m.group(1) for m in re.finditer(r"^Exec\w+=[-@:+!]*(/\S+)", unit, re.M)}
    assert "/usr/bin/scalr-usage-exporter" in programs and len(programs) > 1, programs
    fields = dict(re.findall(r"^(\S+): (.*)$", dpkg_deb("-f", str(deb)), re.M))
    depends = {d.strip().split()[0] for d in fields["Depends"].split(",")}
    assert "curl" in depends, "curl (the documented checks) must be a dependency"
    for program in programs - {"/usr/bin/scalr-usage-exporter"}:
        owner = subprocess.run(["dpkg", "-S", program], capture_output=True, text=True,
                               timeout=60).stdout
        packages = {line.split(":")[0] for line in owner.splitlines()
                    if not line.startswith("diversion")}
        assert packages, f"{program}: no package owns it"
        for package in packages:
            essential = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", package],
                                       capture_output=True, text=True, timeout=60).stdout
            assert essential == "yes" or package in depends, \
                f"{program} is in {package}, neither Essential nor in Depends: {depends}"
