#!/usr/bin/env python3
"""Write Pagefind's wasm compressed smaller into codepages/search/wasm/ (run after moving Pagefind).

    .venv/bin/python -m pip install zopfli==0.4.3   # once: not a dependency of the build
    .venv/bin/python dev/smaller_wasm.py

Pagefind ships its search code as wasm.<language>.pagefind, gzip files its pagefind.js unpacks
itself, so the host serves them as they are: they are most of what a first keyword search
downloads. Zopfli writes the same bytes in the same gzip format about 3 KB smaller (59.8 →
56.9 KB for wasm.en.pagefind of Pagefind 1.6.0), but takes a second, so the build does not run
it: it looks for the file here, named by the digest of the wasm it decompresses to, and uses
it instead of Pagefind's when that digest is the one Pagefind wrote (codepages/search/pagefind.py
_smaller_wasm). This script runs the pinned Pagefind over a one-page site, compresses each wasm
of the search's language, and removes the files of other Pagefind versions.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codepages.search import pagefind  # noqa: E402


def main() -> int:
    try:
        import zopfli.gzip
    except ImportError:
        print("needs zopfli: .venv/bin/python -m pip install zopfli==0.4.3", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        site, bundle = Path(folder) / "site", Path(folder) / "bundle"
        site.mkdir()
        (site / "index.html").write_text('<!doctype html><html lang="en"><body><h1 id="a">Code</h1></body></html>')
        subprocess.run([pagefind.executable(pagefind.CHECKOUT_TOOLS), "--site", str(site), "--output-path", str(bundle),
                        "--force-language", "en", "--silent"], check=True)
        made = set()
        for path in sorted(bundle.glob("wasm.en.pagefind")):
            wasm = gzip.decompress(path.read_bytes())
            smaller = zopfli.gzip.compress(wasm, numiterations=15)
            assert gzip.decompress(smaller) == wasm
            name = f"{hashlib.sha256(wasm).hexdigest()[:16]}.gz"
            pagefind.WASM_FOLDER.mkdir(exist_ok=True)
            (pagefind.WASM_FOLDER / name).write_bytes(smaller)
            made.add(name)
            print(f"{path.name}: {path.stat().st_size:,} → {len(smaller):,} bytes, {pagefind.WASM_FOLDER / name}")
    for old in pagefind.WASM_FOLDER.glob("*.gz"):
        if old.name not in made:
            old.unlink()
            print(f"removed {old}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
