"""Starting Pagefind before the catalogue is loaded, on the documents an edit will most likely give.

Pagefind indexes every word document again on each build (it has no incremental mode): on the
full catalogue that takes about as long as loading the catalogue, and an edit used to wait for
the two one after the other. Most edits change only the text an editor wrote (a section, the
synonyms), and that text reaches the word documents unchanged: the code's heading and the
release's inclusion terms stay as the last build wrote them. So before loading, each changed
record is parsed on its own, its part of the document that holds it is rewritten from the
record, and Pagefind starts on that copy of the documents while the catalogue loads.

It is a guess, checked: the index step writes the real documents as before, and the early run
is kept only when its documents are byte for byte the real ones (the digest Pagefind runs are
named by); otherwise it is stopped and Pagefind runs on the real documents. The published
index is therefore always Pagefind's index of the real documents.
"""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

from ..codesets import record_paths
from ..errors import Problems
from ..incremental import Plan
from ..project import Project
from ..records import Record, parse_record
from ..settings import load_settings
from ..textfile import read_text
from . import documents, pagefind

MAX_RECORDS = 8  # changed records guessed at most: a bigger change is rarely text only
PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)


def start_early(project: Project, plan: Plan, documents_dir: Path, version: str) -> pagefind.PagefindRun | None:
    """Pagefind at work on the guessed documents of an incremental build, or None when there is
    nothing to guess from (no documents yet, a record added or removed, a problem in a record)
    or the guess leaves the documents as they are. `version`: what names the index's code."""
    if plan.mode != "incremental" or plan.previous is None or not documents_dir.is_dir():
        return None
    changed = _changed_records(project, plan)
    if not changed:
        return None
    files = pagefind.read_documents(documents_dir)
    guessed = dict(files)
    for record in changed:
        if not _rewrite(guessed, record):
            return None
    if guessed == files:
        return None
    # Pagefind's input folder links the documents the guess leaves as they are (the index step
    # replaces a document by a new file, never writes into one), and holds new files for the others
    rewritten = {relative for relative, data in guessed.items() if data is not files[relative]}
    scratch = project.out_dir.resolve().parent  # where the incremental writer puts its folders (one file system)
    reuse = [project.out_dir / pagefind.PAGEFIND_FOLDER]
    return pagefind.PagefindRun(documents_dir, guessed, pagefind.documents_digest(version, guessed), scratch, reuse,
                                project.tools_dir, rewritten).start(low_priority=True)


def _changed_records(project: Project, plan: Plan) -> list[Record]:
    """The editors' records whose files changed since the last build, parsed on their own; empty
    when a file was added or removed, or more than MAX_RECORDS changed, or one has a problem."""
    assert plan.previous is not None
    problems = Problems()
    current = {str(p) for p in record_paths(project.content_dir)}
    if current != plan.previous.records.keys():
        return []
    changed: list[tuple[Path, str, str]] = []
    for name, facts in plan.previous.records.items():
        path = Path(name)
        text = read_text(path, problems)
        if text is None:
            return []
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if digest != facts[0]:
            changed.append((path, text, digest))
            if len(changed) > MAX_RECORDS:
                return []
    if not changed:
        return []
    settings = load_settings(project.settings_file, problems, project.base_url)
    if settings is None:
        return []
    records = [parse_record(path, text, digest, settings, problems) for path, text, digest in changed]
    return [r for r in records if r is not None] if not problems and all(records) else []


def _rewrite(files: dict[str, bytes], record: Record) -> bool:
    """Rewrite the record's part of the one document holding it: its heading and the release's
    inclusion terms as they were, then its synonyms and public sections from the record. False
    when no single document holds it in the form documents.document_html writes."""
    heading = re.compile(rb'<h2 id="[a-z]*' + re.escape(html.escape(record.url).encode()) + rb'">')
    found = [(relative, match) for relative, data in files.items() if (match := heading.search(data))]
    if len(found) != 1:
        return False
    relative, match = found[0]
    data = files[relative]
    heading_end = data.find(b"</h2>", match.end())
    ends = [at for at in (data.find(b"<h2 ", match.end()), data.find(b"</body>", match.end())) if at >= 0]
    if heading_end < 0 or not ends or heading_end > min(ends):
        return False
    end = min(ends)
    body = data[heading_end + 5:end].decode("utf-8")
    paragraphs = PARAGRAPH.findall(body)
    if "".join(f"<p>{p}</p>" for p in paragraphs) != body:
        return False
    if paragraphs and paragraphs[0].startswith(documents.SYNONYMS):
        paragraphs.pop(0)
    texts = [html.escape(t) for t in documents.public_texts(record)]
    if paragraphs and paragraphs[0].startswith(documents.INCLUSION_TERMS):  # from the release: kept as it was
        texts.insert(1 if record.synonyms else 0, paragraphs[0])
    part = data[:heading_end + 5] + "".join(f"<p>{t}</p>" for t in texts).encode("utf-8")
    files[relative] = part + data[end:]
    return True
