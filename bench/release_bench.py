"""Time the release readers on full-size generated files (see make_releases.py).

    .venv/bin/python bench/release_bench.py [--dir DIR] [-n 7]

Generates the files into a temporary folder (or reads them from DIR if it holds them),
then parses each release n times and prints the median and the best wall time and the
median CPU time of the process (less disturbed by other load than wall time), the size
of the pickled release and the time to unpickle it (what a cache keyed by the files'
digests would pay instead of parsing). Nothing is asserted. The machine's load average is
printed beside the figures: on 2 cores anything else running shows up directly.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for codepages
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for make_releases

import make_releases

from codepages.releases import cpt, hcpcs

T = TypeVar("T")


def timed(fn: Callable[[], T], n: int) -> tuple[T, float, float, float]:
    """(result, median wall, best wall, median CPU time of this process)."""
    walls, cpus = [], []
    result = fn()  # warm the OS file cache; not counted
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return result, statistics.median(walls), min(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, help="folder with hcpcs/ and cpt/ from make_releases.py")
    ap.add_argument("-n", type=int, default=7)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.dir or Path(tmp)
        if not (folder / "hcpcs" / "HCPC2026_JAN_ANWEB.txt").exists():
            make_releases.write(folder)
        hcpcs_path = folder / "hcpcs" / "HCPC2026_JAN_ANWEB.txt"
        cpt_config = cpt.config_from_mapping(
            yaml.safe_load((folder / "cpt" / "release.yaml").read_text()), base_dir=folder / "cpt"
        )
        load_before = os.getloadavg()
        h, h_med, h_min, h_cpu = timed(lambda: hcpcs.read_text(hcpcs_path), a.n)
        c, c_med, c_min, c_cpu = timed(lambda: cpt.read_release(cpt_config), a.n)
        h_pickle, c_pickle = pickle.dumps(h), pickle.dumps(c)
        _, hu_med, _, _ = timed(lambda: pickle.loads(h_pickle), a.n)
        _, cu_med, _, _ = timed(lambda: pickle.loads(c_pickle), a.n)
        load_after = os.getloadavg()
    hcpcs_bytes = hcpcs_path.stat().st_size if a.dir else None
    print(f"HCPCS text: {len(h.codes):,} codes + {len(h.modifiers):,} modifiers"
          + (f", {hcpcs_bytes:,} bytes" if hcpcs_bytes else ""))
    print(f"  parse     median {h_med:.3f} s   best {h_min:.3f} s   CPU median {h_cpu:.3f} s")
    print(f"  unpickle  median {hu_med:.3f} s   ({len(h_pickle):,} bytes pickled)")
    print(f"CPT files:  {len(c.codes):,} codes from {len(c.files)} files")
    print(f"  parse     median {c_med:.3f} s   best {c_min:.3f} s   CPU median {c_cpu:.3f} s")
    print(f"  unpickle  median {cu_med:.3f} s   ({len(c_pickle):,} bytes pickled)")
    print(f"both parsed: median {h_med + c_med:.3f} s (best {h_min + c_min:.3f} s, CPU {h_cpu + c_cpu:.3f} s);"
          f" both unpickled: {hu_med + cu_med:.3f} s")
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f};"
          f" {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
