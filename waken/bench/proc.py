"""Processes seen from /proc: the children of a process, its memory (VmRSS, VmHWM), threads and CPU time."""
import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def children(pid):
    """Pids of the processes whose parent is `pid` (a gunicorn master's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:   # the process ended while we looked
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def memory_mb(pid):
    """{"rss", "hwm", "threads"}: VmRSS and VmHWM in MB (one decimal), and the thread count."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            fields[line[2:5].lower()] = round(int(line.split()[1]) / 1024, 1)
        elif line.startswith("Threads:"):
            fields["threads"] = int(line.split()[1])
    return fields


def open_count(pid, name):
    """How many descriptors of `pid` are open on a file called `name` (one per SQLite connection)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.path.basename(os.readlink(fd)) == name
        except OSError:   # closed while we looked
            continue
    return count


def cpu_seconds(pids):
    """User plus system CPU seconds the processes `pids` have used, all their threads included."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:   # a worker restarted: its ticks are lost, not the reading
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK
