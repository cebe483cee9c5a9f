"""Processes seen from /proc: the children of a process, and its memory (VmRSS, VmHWM) and threads."""
import os
from pathlib import Path


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
