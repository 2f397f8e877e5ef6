#!/usr/bin/env python3
"""Edge bench: CPU time of the edge gate per code-page request, over real built pages.

    .venv/bin/python bench/edge_bench.py [--project DIR] [--site DIR] [-n N] [--json FILE]

Takes pages from an existing build of a project (default: this checkout and its `site/`; run
`python build.py` first; bench/build_bench.py passes its grown copy and its output):

- sealed pages: every CPT and HCPCS page with protected sections and the ICD-10-CM pages
  editors enriched (content/icd-10-cm/*.md), e.g. /cpt/623/62326/, /icd-10-cm/M54/M54.16/;
- plain ICD-10-CM pages from the official release only (/icd-10-cm/S72/S72.001/S72.001A/ …);
- pages the gate passes through: range pages, code-set indexes, the home page.

and runs the real handler (edge/functions/gate.ts) in Deno (`.venv/bin/deno`, with
`--config edge/deno.json`) N times per scenario: a new visitor unlocking a sealed page, a
returning visitor re-opening it, a spent meter (another sealed page, gated), a plain page,
a passed-through page. Per request it measures wall time (performance.now()), the CPU time of
the thread that runs the script (CLOCK_THREAD_CPUTIME_ID through Deno's FFI: Netlify's limit
counts "all time spent running your scripts"; V8's pauses on that thread are in it) and the
CPU time of the whole Deno process (getrusage, through node:process cpuUsage()); per scenario
also both over the whole loop divided by N. Per request, the process figure is not a request's
cost: Linux books the CPU of V8's helper threads (concurrent GC, compilation), which run on the
other core, in scheduler-tick chunks to whichever request runs at that moment; over a loop it
is exact. It prints p50 and p99 of the script thread per scenario against the budget of issue
15 (p99 <= 1 ms; Netlify allows 50 ms), says whether it is met, and prints the process p99 and
per-loop figures beside them. The chain is measured as deployed: the addresses function, then
the gate.

Keys: the seal key is the one the build used — CODEPAGES_SEAL_KEYS if set, else the
project's development key file `.codepages/dev-secrets/seal-keys` (codepages/project.py) — and a
random meter key is made per run.
Nothing else should run meanwhile (other processes inflate p99). No assertions.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def deno_binary() -> Path:
    """Deno from the `deno` package of the running environment (as the preview finds it), else .venv/bin/."""
    try:
        import deno

        return Path(deno.find_deno_bin())
    except (ImportError, FileNotFoundError, AttributeError):
        beside = Path(sys.executable).parent / "deno"
        return beside if beside.is_file() else ROOT / ".venv" / "bin" / "deno"


DENO = deno_binary()
SCRIPT = Path(__file__).resolve().parent / "edge_bench.ts"
BUDGET_P99_MS = 1.0  # issue 15
NETLIFY_LIMIT_MS = 50.0

# Plain ICD-10-CM pages (release only, nothing sealed): a 7th-character code, common codes,
# a category and a chapter-level header with long lists.
PLAIN = ["/icd-10-cm/S72/S72.001/S72.001A/", "/icd-10-cm/E11/E11.9/", "/icd-10-cm/I10/", "/icd-10-cm/J45/J45.909/",
         "/icd-10-cm/Z00/Z00.00/", "/icd-10-cm/S72/", "/icd-10-cm/T36/T36.0X1/T36.0X1A/", "/icd-10-cm/M54/M54.2/"]
PASSTHROUGH = ["/icd-10-cm/M50-M54/", "/cpt/62320-62327/", "/hcpcs/J0000-J8999/", "/icd-10-cm/S70-S79/",
               "/icd-10-cm/", "/"]
SEALED_MARK = 'data-sealed="'


def page_file(site: Path, page_path: str) -> Path:
    return site / page_path.strip("/") / "index.html" if page_path != "/" else site / "index.html"


def has_seals(site: Path, page_path: str) -> bool:
    try:
        return SEALED_MARK in page_file(site, page_path).read_text(encoding="utf-8")
    except OSError:
        return False


def pick_pages(site: Path, content: Path) -> dict[str, list[str]]:
    sys.path.insert(0, str(ROOT))
    from codepages.codesets import url_path  # the build's own address rule (pages below their folders)
    sealed: list[str] = []
    for code_set in ("cpt", "hcpcs", "icd-10-cm"):
        # editors' records: the only pages with protected sections (the release's 98,000 have none)
        codes = sorted(p.stem for p in (content / code_set).glob("*.md"))
        sealed += [url_path(code_set, code) for code in codes
                   if "-" not in code and has_seals(site, url_path(code_set, code))]
    plain = [p for p in PLAIN if page_file(site, p).is_file() and not has_seals(site, p)]
    passthrough = [p for p in PASSTHROUGH if page_file(site, p).is_file()]
    return {"sealed": sealed, "plain": plain, "passthrough": passthrough}


def seal_keys(project: Path) -> tuple[str, str]:
    value = os.environ.get("CODEPAGES_SEAL_KEYS", "").strip()
    if value:
        return value, "CODEPAGES_SEAL_KEYS"
    sys.path.insert(0, str(ROOT))
    from codepages.project import Project  # where the build keeps its development keys

    path = Project.at(project).secrets_dir / "seal-keys"
    try:
        return path.read_text().strip(), str(path)
    except OSError:
        raise SystemExit(f"no seal key: set CODEPAGES_SEAL_KEYS or build once (it creates {path})") from None


def machine() -> str:
    cpu = "?"
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1).strip()
    except (OSError, AttributeError):
        pass
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        ram = "?"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{nproc} CPUs ({cpu}), {ram} RAM, Linux {platform.release()}, load average {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=ROOT,
                        help="the project that was built: its content/ and development seal key (default: this checkout)")
    parser.add_argument("--site", type=Path, help="build output (default: site/ of the project)")
    parser.add_argument("--content", type=Path, help="content folder (default: content/ of the project)")
    parser.add_argument("-n", type=int, default=2000, help="requests per scenario (default 2000)")
    parser.add_argument("--warmup", type=int, default=300, help="unmeasured requests per scenario first")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--v8-flags", help="passed to deno run --v8-flags= (e.g. --max-semi-space-size=32)")
    args = parser.parse_args(argv)

    project = args.project.resolve()
    site = (args.site or project / "site").resolve()
    content = (args.content or project / "content").resolve()
    if not (site / "index.html").is_file():
        raise SystemExit(f"{site} holds no build: run .venv/bin/python build.py first")
    if not DENO.is_file():
        raise SystemExit(f"{DENO} is missing: .venv/bin/pip install -r requirements-dev.txt")
    plan = pick_pages(site, content)
    if not plan["sealed"]:
        raise SystemExit(f"no page in {site} has sealed sections: is it a full build?")
    seal, seal_source = seal_keys(project)
    meter = "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    env = {**os.environ, "CODEPAGES_SEAL_KEYS": seal, "CODEPAGES_METER_KEYS": meter, "NO_COLOR": "1"}
    env.pop("CONTEXT", None)

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"Edge bench, {date}: {machine()}", flush=True)
    print(f"site {site}; seal key from {seal_source}; random meter key; {args.n} requests per scenario "
          f"after {args.warmup} warm-up requests", flush=True)
    for kind, paths in plan.items():
        shown = ", ".join(paths[:8]) + (f", … ({len(paths)} in all)" if len(paths) > 8 else "")
        print(f"  {kind}: {shown}", flush=True)

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"site": str(site), "n": args.n, "warmup": args.warmup, **plan}, handle)
        plan_file = handle.name
    command = [str(DENO), "run", "--quiet", "--config", str(ROOT / "edge" / "deno.json"), "--allow-env",
               "--allow-read", "--allow-sys", "--allow-ffi", *([f"--v8-flags={args.v8_flags}"] if args.v8_flags else []),
               str(SCRIPT), plan_file]
    print("running: " + " ".join(command[:6]) + " … bench/edge_bench.ts PLAN.json", flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    finally:
        os.unlink(plan_file)
    if done.returncode != 0 or not done.stdout.strip():
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"deno exited with {done.returncode}")
    for line in done.stderr.splitlines():  # the gate's own log lines (key problems and the like)
        print(f"  deno: {line}")
    data = json.loads(done.stdout.strip().splitlines()[-1])

    print()
    print(f"Edge chain (functions/addresses.ts, then gate.ts) on Deno {data['deno']} (V8 {data['v8']}), ms per request")
    first = data["first"]
    print(f"per-request CPU: {data['cpuClock']}")
    print(f"first request of the process ({first['path']}: keys imported, code cold): "
          f"{first['wallMs']:.2f} ms wall, {first['cpuMs']:.2f} ms CPU")
    header = (f"{'scenario':<52}{'pages':>6}{'page KB':>12}{'wall p50':>10}{'p99':>8}{'CPU p50':>9}"
              f"{'p99':>8}{'max':>8}{'CPU/req':>9}{'process p99':>13}{'/req':>7}  CPU p99 <= {BUDGET_P99_MS:g} ms")
    print(header)
    print("-" * len(header))
    for r in data["results"]:
        worst = r["cpuP99"]  # CPU time is what the budget and Netlify's limit count
        verdict = "met" if worst <= BUDGET_P99_MS else ("MISSED" if worst <= NETLIFY_LIMIT_MS else "MISSED (> 50 ms)")
        kb = f"{r['pageKbMin']:.0f}-{r['pageKbMax']:.0f}" if round(r["pageKbMin"]) != round(r["pageKbMax"]) \
            else f"{r['pageKbMin']:.0f}"
        print(f"{r['name']:<52}{r['pages']:>6}{kb:>12}{r['wallP50']:>10.3f}{r['wallP99']:>8.3f}{r['cpuP50']:>9.3f}"
              f"{r['cpuP99']:>8.3f}{r['cpuMax']:>8.2f}{r['loopScriptCpuPerRequest']:>9.3f}"
              f"{r['processCpuP99']:>13.3f}{r['loopCpuPerRequest']:>7.3f}  {verdict}")
        slow, fast = r.get("slowestPage"), r.get("fastestPage")
        if slow and fast and len(r["name"]) and r["pages"] > 1:
            print(f"    per page, CPU p50: {fast['path']} {fast['cpuP50']:.3f} ms ({fast['bytes'] / 1024:.0f} KB) "
                  f"… {slow['path']} {slow['cpuP50']:.3f} ms ({slow['bytes'] / 1024:.0f} KB)")
        for problem in r["problems"]:
            print(f"    ! {problem}")
    print()
    print("wall: performance.now() around the handler and reading its response body as bytes (grows when other")
    print("processes take the CPU); CPU: the script thread's CPU time per request (V8's pauses on it included);")
    print(f"CPU/req: the same over the {args.n}-request loop / {args.n}; process p99, /req: the Deno process's CPU (all")
    print("threads: V8's helpers on the other core too, booked in scheduler-tick chunks), per request and over the")
    print(f"loop. Budget (issue 15): CPU p99 <= {BUDGET_P99_MS:g} ms per code-page request; Netlify allows "
          f"{NETLIFY_LIMIT_MS:g} ms of script time.")
    code_pages = [r for r in data["results"] if "passed through" not in r["name"]]
    worst = max(code_pages, key=lambda r: r["cpuP99"])
    verdict = "met" if worst["cpuP99"] <= BUDGET_P99_MS else "MISSED"
    print(f"Budget: CPU p99 <= {BUDGET_P99_MS:g} ms per code-page request: {verdict} "
          f"(worst: {worst['name']}, {worst['cpuP99']:.3f} ms)")
    if args.json:
        args.json.write_text(json.dumps({"date": date, "machine": machine(), "site": str(site), "seal_key": seal_source,
                                         "pages": plan, "budget_p99_ms": BUDGET_P99_MS, "worst": worst["name"],
                                         "worst_cpu_p99_ms": worst["cpuP99"], "met": worst["cpuP99"] <= BUDGET_P99_MS,
                                         **data}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
