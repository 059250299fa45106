"""The Debian package under a real systemd: scripts/package.sh's .deb installed with dpkg
into a minimal Debian 12 root (debootstrap, no Swift in it) booted with
`systemd-nspawn -b` (systemd as PID 1), then checked as an operator would, one printed
line per check.

The root file system is made once and cached outside the work tree
(SLUICE_ROOTFS_CACHE, default ~/.cache/sluice-tests/bookworm); each run boots a copy.
Skips, saying why, where nspawn cannot boot (not root, no debootstrap/systemd-nspawn,
no Debian mirror)."""
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SLUICE_ROOTFS_CACHE", Path.home() / ".cache" / "sluice-tests" / "bookworm"))


def run(*args, check=True, **kwargs):
    result = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def mirror():
    """The Debian mirror this machine's apt uses."""
    for source in Path("/etc/apt").glob("sources.list*"):
        files = [source] if source.is_file() else list(source.glob("*"))
        for f in files:
            # Comments may name other mirrors (a snapshot the image was built from).
            live = "\n".join(line for line in f.read_text().splitlines() if not line.lstrip().startswith("#"))
            m = re.search(r"(https?://\S+/debian)\b", live)
            if m:
                return m.group(1)
    return "http://deb.debian.org/debian"


def rootfs(depends):
    """A cached Debian 12 root with systemd and the package's dependencies."""
    marker = CACHE / ".complete"
    if not marker.exists():
        shutil.rmtree(CACHE, ignore_errors=True)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        include = ",".join(["systemd", "systemd-sysv", "dbus", "curl", "ca-certificates", *depends])
        run("debootstrap", "--variant=minbase", f"--include={include}", "bookworm", str(CACHE), mirror(), timeout=1200)
        marker.touch()
    return CACHE


class Container:
    """A booted copy of the root; `sh()` runs a command inside it."""

    def __init__(self, base, work):
        self.root = work / "root"
        run("cp", "-a", "--reflink=auto", str(base), str(self.root))
        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", str(self.root), "-b", "--register=no", "--keep-unit", "--private-network",
             "--console=pipe", "--machine=sluice-test"],
            stdout=open(work / "console.log", "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.pid = self.find_init()
        self.wait(lambda: self.sh("systemctl is-system-running", check=False).stdout.strip() in ("running", "degraded"), 120, "boot")

    def find_init(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            children = run("pgrep", "-P", str(self.nspawn.pid), check=False).stdout.split()
            if children:
                return int(children[0])
            if self.nspawn.poll() is not None:
                raise AssertionError("systemd-nspawn exited before booting")
            time.sleep(0.2)
        raise AssertionError("no PID 1 in the container")

    def sh(self, command, check=True, timeout=120):
        return run("nsenter", "-t", str(self.pid), "-a", "/bin/sh", "-c", command, check=check, timeout=timeout)

    def wait(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}")

    def main_pid(self):
        return self.sh("systemctl show -p MainPID --value sluiced").stdout.strip()

    def active(self):
        return self.sh("systemctl is-active sluiced", check=False).stdout.strip()

    def stop(self):
        self.nspawn.kill()
        self.nspawn.wait()


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the package test needs root (debootstrap, systemd-nspawn)")
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "dpkg-deb"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/setup.sh installs it)")
    if os.environ.get("SLUICE_DEB"):
        return Path(os.environ["SLUICE_DEB"])
    out = tmp_path_factory.mktemp("package")
    built = run(str(ROOT / "scripts" / "package.sh"), str(out), timeout=3600)
    return Path(built.stdout.strip().splitlines()[-1])


def test_the_package_under_a_real_systemd(deb, tmp_path, capsys):
    control = run("dpkg-deb", "-f", str(deb), "Depends").stdout
    depends = [d.strip().split()[0] for d in control.split(",") if d.strip() and d.strip().split()[0] != "systemd"]
    assert not any("swift" in d for d in depends), control
    base = rootfs(depends)
    assert not list(base.glob("opt/swift*")) and not list(base.glob("usr/lib/swift*")), "Swift must not be in the root"
    box = Container(base, tmp_path)

    def check(name):
        with capsys.disabled():
            print(f"package check ok: {name}", flush=True)

    try:
        shutil.copy(deb, box.root / "sluice.deb")
        box.sh("mkdir -p /var/log/app && echo 'hello from /var/log/app' > /var/log/app/demo.log && chgrp adm /var/log/app/demo.log && chmod 0640 /var/log/app/demo.log && chmod 0750 /var/log/app && chgrp adm /var/log/app")
        box.sh("dpkg -i /sluice.deb")
        box.wait(lambda: box.active() == "active", 60, "sluiced active after install")
        check("installed with dpkg (no Swift in the root), active after READY")
        # Foundation's ICU (its data is named icudt<version>) came with one call of the full
        # library and doubled the binary; no module may bring it back.
        for binary in ("sluiced", "sluice"):
            assert b"icudt" not in (box.root / "usr/bin" / binary).read_bytes(), f"{binary} links ICU"
        check("the binaries carry no ICU (FoundationEssentials only)")
        assert box.sh("stat -c %a /etc/sluice/master.key").stdout.strip() == "600"
        key_before = box.sh("sha256sum /etc/sluice/master.key").stdout

        streams = box.sh("sluice streams list").stdout
        assert "logs" in streams and "telemetry" in streams, streams
        metrics = box.sh("curl -sf http://127.0.0.1:4567/metrics").stdout
        assert "IncomingRecords" in metrics or "sluice" in metrics.lower(), metrics[:500]
        check("the Kinesis API and /metrics answer inside")

        box.sh("sluice put telemetry --partition-key k 'record one'")
        assert "record one" in box.sh("sluice read telemetry --from trim-horizon").stdout
        check("a record put is read back")

        # A function's handler runs as sluiced does: its user, its sandbox, no capabilities.
        box.sh("printf '#!/bin/sh\\ncat >/dev/null\\n{ id -un; grep -E \"^(NoNewPrivs|CapEff)\" /proc/self/status; "
               "touch /etc/sluice-probe 2>/dev/null && echo etc-writable || echo etc-readonly; } > /var/lib/sluice/probe.out\\n' "
               "> /usr/local/lib/probe.sh && chmod 755 /usr/local/lib/probe.sh")
        box.sh("printf '\\n[[functions]]\\nname = \"probe\"\\nstream = \"telemetry\"\\ncommand = [\"/bin/sh\", \"/usr/local/lib/probe.sh\"]\\n"
               "starting_position = \"TRIM_HORIZON\"\\n' >> /etc/sluice/sluice.toml && systemctl restart sluiced")
        box.wait(lambda: box.sh("cat /var/lib/sluice/probe.out", check=False).stdout.count("\n") >= 4, 60, "the function's probe")
        probe = box.sh("cat /var/lib/sluice/probe.out").stdout.split("\n")
        assert probe[0] == "sluice" and "NoNewPrivs:\t1" in probe and "CapEff:\t0000000000000000" in probe and "etc-readonly" in probe, probe
        assert box.sh("test -x /usr/lib/sluice/sluice_lambda_runner.py && echo runner").stdout.strip() == "runner"
        check("a function's handler runs as the sluice user in the unit's sandbox; the Lambda runner is installed")

        box.wait(lambda: "hello from /var/log/app" in box.sh("sluice read logs --from trim-horizon").stdout, 60, "the file source")
        check("a file source reads /var/log/app (group adm) as the sluice user")

        pid = box.main_pid()
        box.sh("printf '\\n[[streams]]\\nname = \"added-on-reload\"\\nshards = 1\\n' >> /etc/sluice/sluice.toml")
        box.sh("systemctl reload sluiced")
        box.wait(lambda: "added-on-reload" in box.sh("sluice streams list").stdout, 30, "the new stream")
        assert box.main_pid() == pid
        check("reload keeps the pid and creates a newly configured stream")

        good = box.sh("cat /etc/sluice/sluice.toml").stdout
        box.sh("cp /etc/sluice/sluice.toml /etc/sluice/good.toml && echo 'not = [valid' >> /etc/sluice/sluice.toml")
        box.sh("systemctl reload sluiced", check=False)
        box.wait(lambda: "refused" in box.sh("journalctl -u sluiced --no-pager -n 50").stdout.lower(), 30, "the refusal")
        assert box.active() == "active" and box.main_pid() == pid
        check("a broken config on reload is refused and the service stays up")

        box.sh("systemctl restart sluiced", check=False)
        box.wait(lambda: box.active() in ("failed", "inactive"), 60, "the refused start")
        restarts = int(box.sh("systemctl show -p NRestarts --value sluiced").stdout.strip() or 0)
        assert restarts <= 5, restarts
        assert box.sh("systemctl show -p ExecMainStatus --value sluiced").stdout.strip() == "78"
        check(f"a broken config at start is not retried (exit 78, {restarts} restarts)")
        box.sh("cp /etc/sluice/good.toml /etc/sluice/sluice.toml && systemctl reset-failed sluiced && systemctl start sluiced")
        box.wait(lambda: box.active() == "active", 60, "restart with the good config")

        box.sh("mkdir -p /etc/systemd/system/sluiced.service.d && printf '[Service]\\nEnvironment=SLUICE_HEALTH_FAIL_FILE=/run/sluice-unhealthy\\nWatchdogSec=4s\\n' > /etc/systemd/system/sluiced.service.d/watchdog.conf && systemctl daemon-reload && systemctl restart sluiced")
        box.wait(lambda: box.active() == "active", 60, "restart with the watchdog drop-in")
        pid = box.main_pid()
        box.sh("touch /run/sluice-unhealthy")
        box.wait(lambda: box.main_pid() not in (pid, "0"), 60, "the watchdog restart")
        box.sh("rm -f /run/sluice-unhealthy")
        box.wait(lambda: box.active() == "active", 60, "active after the watchdog restart")
        check("a failing health check stops WATCHDOG=1 and systemd restarts the service")

        pid = box.main_pid()
        box.sh(f"kill -9 {pid}")
        box.wait(lambda: box.active() == "active" and box.main_pid() not in (pid, "0"), 60, "the restart after kill -9")
        check("kill -9 is restarted")

        box.sh("systemctl stop sluiced")
        assert box.sh("systemctl show -p ExecMainStatus --value sluiced").stdout.strip() == "0"
        box.sh("systemctl start sluiced")
        box.wait(lambda: box.active() == "active", 60, "start after stop")
        assert "record one" in box.sh("sluice read telemetry --from trim-horizon").stdout
        check("stop exits 0 and the record is there after the next start")

        security = box.sh("systemd-analyze security sluiced --no-pager", check=False).stdout
        level = float(re.search(r"Overall exposure level for sluiced.service: ([0-9.]+)", security).group(1))
        assert level <= 2.0, security[-2000:]
        check(f"systemd-analyze security: {level} (≤ 2.0)")

        journal = box.sh("journalctl --no-pager -b").stdout
        # Dispatch's setpriority is neither refused by the seccomp filter (errno 1) nor
        # logged as refused by the kernel (errno 13): sluiced clamps the raise it asks for.
        assert "Failed to set thread priority" not in journal, re.findall(r".*thread priority.*", journal)
        assert not re.search(r"sluiced.*(seccomp|SIGSYS|status=31)", journal)
        check("no seccomp denial and no 'Failed to set thread priority' in the journal")

        box.sh("dpkg -r sluice")
        assert box.sh("test -d /var/lib/sluice/streams && echo kept").stdout.strip() == "kept"
        assert box.sh("sha256sum /etc/sluice/master.key").stdout == key_before
        check("remove stops the service and keeps data and keys")
        purge = box.sh("dpkg -P sluice").stdout
        assert "deletes /var/lib/sluice" in purge
        assert box.sh("test -e /var/lib/sluice || test -e /etc/sluice/master.key || echo gone").stdout.strip() == "gone"
        check("purge says what it deletes and deletes it")
    finally:
        box.stop()
