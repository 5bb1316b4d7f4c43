"""CPU seconds of the processes a benchmark starts, to say where two shared cores went.

A benchmark's figure is a rate; on two cores shared by the engine, the simulators it talks to and
PostgreSQL, the rate alone cannot say whether the engine scaled or the machine ran out of CPU. These
read each process's CPU time from /proc (Linux; None elsewhere): a server's own, and a PostgreSQL
cluster's (the postmaster, the backends it has reaped, and those still running).
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the fields after the command name (which may hold spaces)


def process_cpu(pid: int, *, reaped_children: bool = False) -> float | None:
    """CPU seconds (user + system) of a running process; with its reaped children's when asked."""
    fields = _stat(pid)
    if fields is None:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def postgres_cpu(port: int) -> float | None:
    """CPU seconds of the PostgreSQL cluster listening on `port`: its postmaster (with the backends it
    has reaped) and every backend still running."""
    if not _PROC.is_dir():
        return None
    postmaster, parents = None, {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = _stat(int(entry.name))
        if fields is None or not (command[0].endswith(b"/postgres") or command[0].startswith(b"postgres")):
            continue
        if f"-p {port}".encode() in b" ".join(command):
            postmaster = int(entry.name)
        parents[int(entry.name)] = int(fields[1])  # ppid
    if postmaster is None:
        return None
    total = process_cpu(postmaster, reaped_children=True) or 0.0
    return total + sum(process_cpu(pid) or 0.0 for pid, parent in parents.items() if parent == postmaster)
