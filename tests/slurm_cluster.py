"""A single-node SLURM cluster on this machine for the tests: munge, slurmctld, slurmd,
started directly as root (no systemd) and stopped by PID afterwards, also on failure.

Node "localhost" with one fake GPU (gres backed by /dev/null) so --gpus=1 jobs schedule
on a GPU-less machine; such a job sees CUDA_VISIBLE_DEVICES without CUDA and the code
falls back to the CPU. Needs Debian's slurmctld, slurmd, slurm-client and munge.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

PARTITION = "debug"
NODE = "localhost"
PID_DIR = Path("/run/medlab-test-slurm")
LOG_DIR = Path("/var/log/slurm")
DAEMONS = ("slurmd", "slurmctld", "munged")  # stop order: compute, controller, auth
REQUIRED = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged", "munge")


def missing_tools() -> list[str]:
    return [
        tool
        for tool in REQUIRED
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()
    ]


def _slurm_conf() -> str:
    cpus = os.cpu_count() or 1
    # 10% head-room: slurmd drains a node that reports less memory than RealMemory
    memory_mb = int(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 * 0.9)
    return f"""ClusterName=medlabtest
SlurmctldHost={NODE}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MailProg=/bin/true
# finished jobs stay visible to squeue/scontrol for an hour (status polling needs >= 120 s)
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
SlurmctldPidFile={PID_DIR}/slurmctld.pid
SlurmdPidFile={PID_DIR}/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmctldLogFile={LOG_DIR}/slurmctld.log
SlurmdLogFile={LOG_DIR}/slurmd.log
GresTypes=gpu
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""


# a Count-only gres line is reported as 0 GPUs and makes the node INVAL: it needs a File=
GRES_CONF = f"AutoDetect=off\nNodeName={NODE} Name=gpu File=/dev/null\n"


def _configure() -> None:
    for directory in (
        Path("/etc/slurm"),
        Path("/var/lib/slurm/slurmctld"),
        Path("/var/lib/slurm/slurmd"),
        LOG_DIR,
        PID_DIR,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    Path("/etc/slurm/slurm.conf").write_text(_slurm_conf())
    Path("/etc/slurm/gres.conf").write_text(GRES_CONF)
    key = Path("/etc/munge/munge.key")
    if not key.exists() or key.stat().st_size == 0:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(os.urandom(1024))
    for path in ("/run/munge", "/var/log/munge", "/var/lib/munge"):
        Path(path).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "chown",
            "-R",
            "munge:munge",
            "/etc/munge",
            "/run/munge",
            "/var/log/munge",
            "/var/lib/munge",
        ],
        check=True,
    )
    key.chmod(0o400)


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}; see {LOG_DIR}")


def _node_state() -> str:
    result = subprocess.run(["sinfo", "-h", "-n", NODE, "-o", "%T"], capture_output=True, text=True)
    return result.stdout.strip()


def start() -> None:
    """Configure and start munged, slurmctld and slurmd; wait until the node is idle."""
    if os.geteuid() != 0:
        raise PermissionError("a local SLURM needs root")
    stop()
    _configure()
    subprocess.run(
        [
            "runuser",
            "-u",
            "munge",
            "--",
            "/usr/sbin/munged",
            "--pid-file=/run/munge/munged.pid",
            "--force",
        ],
        check=True,
    )
    shutil.copy("/run/munge/munged.pid", PID_DIR / "munged.pid")
    # -c: start without saved jobs (a killed earlier run leaves no ghost RUNNING jobs); -i: ignore bad state
    subprocess.run(["slurmctld", "-c", "-i"], check=True)
    _wait(
        lambda: subprocess.run(["scontrol", "ping"], capture_output=True).returncode == 0,
        30,
        "slurmctld",
    )
    subprocess.run(["slurmd", "-N", NODE], check=True)
    _wait(
        lambda: _node_state().startswith(("idle", "mixed", "allocated")),
        60,
        f"node {NODE} to become idle",
    )


def stop() -> None:
    """Stop every daemon started by :func:`start`, by PID, only if the PID is still that daemon."""
    for daemon in DAEMONS:
        pid_file = PID_DIR / f"{daemon}.pid"
        if not pid_file.exists():
            continue
        try:
            pid = int(pid_file.read_text().strip())
            if Path(f"/proc/{pid}/comm").read_text().strip() == daemon:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.2)
        except (ValueError, OSError):
            pass
        pid_file.unlink(missing_ok=True)


def jobs() -> list[dict[str, str]]:
    """Every job the controller still knows, as key=value dictionaries from ``scontrol -o``."""
    output = subprocess.run(
        ["scontrol", "-o", "show", "job"], capture_output=True, text=True
    ).stdout
    parsed = []
    for line in output.splitlines():
        if not line.strip() or line.startswith("No jobs"):
            continue
        fields = {}
        for token in line.split():
            key, _, value = token.partition("=")
            fields[key] = value
        parsed.append(fields)
    return parsed
