"""Peak memory of this process, as the benchmarks report it.

`getrusage(RUSAGE_SELF).ru_maxrss` is not this program's peak when it was started by another
process: Linux carries the parent's high-water mark across fork and exec, so a benchmark run
from a long pytest session reported the test runner's 549 MiB as its own. /proc/self/status's
VmHWM belongs to this program's own address space.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
