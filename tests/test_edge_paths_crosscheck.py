"""The edge's address rule (edge/lib/paths.ts codePagePath, parseAddress, canonicalPagePath)
equals the build's (codepages/codesets.py url_path) for EVERY code of the full built catalogue:
the (code_set, code, url) triples of the build's code shards, checked by a Deno script."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import ROOT


def test_edge_and_build_agree_on_every_page_address(demo_site: Path, tmp_path: Path):
    triples = {}
    for shard in (demo_site / "search" / "codes").glob("*.json"):
        for code, _descriptor, code_set, url, *_billable_and_status in json.loads(shard.read_text(encoding="utf-8"))["codes"]:
            triples[(code_set, code)] = url
    assert len(triples) > 98000, "the full catalogue"
    data = tmp_path / "triples.json"
    data.write_text(json.dumps([[cs, code, url] for (cs, code), url in sorted(triples.items())]))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "deno"), "run", "--quiet", "--config", str(ROOT / "edge" / "deno.json"),
                           "--allow-read", str(ROOT / "edge" / "tests" / "crosscheck.ts"), str(data)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["checked"] == len(triples)
    assert result["count"] == 0, "\n".join(result["problems"])
