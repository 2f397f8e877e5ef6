"""Pages from templates: Jinja2 turns the catalogue into HTML, the sitemap and robots.txt.

A code page is rendered as its public, gated version: each protected section appears only as
its placeholder (with a stable id); the section's own content is rendered separately into
`Page.protected`, for the seal step (`sealing.seal_page`), and never into the page itself.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup, escape

from .catalogue import Catalogue
from .codesets import CODE_SETS
from .errors import Problems
from .records import Record

NOTE_LABELS = {
    "includes": "Includes",
    "inclusion_term": "Applicable to",
    "note": "Notes",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "code_first": "Code first",
    "code_also": "Code also",
    "use_additional_code": "Use additional code",
    "seventh_character": "7th characters",
}
CODE_IN_NOTE = re.compile(r"(?<![A-Za-z0-9.])([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:-([A-Z]\d[0-9A-Z]))?")
PAGE_TEMPLATES = ("home.html", "code_set.html", "range.html", "code.html", "404.html", "search.html",
                  "sitemap.xml")
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)


@dataclass
class Asset:
    path: str  # URL path, e.g. /assets/site.3f2a9c1b07.css
    content: bytes


@dataclass
class Page:
    """One rendered file: its URL path, its public HTML, and the protected sections' content
    (section id → HTML) that the seal step turns into tokens."""

    url: str
    html: str
    protected: dict[str, str] = field(default_factory=dict)


class TemplateProblem(Exception):
    """A template failed while rendering; knows the template file and line."""

    def __init__(self, path: Path, line: int, message: str):
        super().__init__(path, line, message)  # args survive the trip back from a worker process
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def make_environment(templates_dir: Path, problems: Problems) -> jinja2.Environment | None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ok = True
    for name in sorted(env.list_templates(extensions=["html", "xml"])):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.add(Path(exc.filename or templates_dir / name), exc.lineno, f"template error: {exc.message}")
            ok = False
    for name in PAGE_TEMPLATES:
        if not (templates_dir / name).exists():
            problems.add(templates_dir / name, 1, "template missing: every site needs it")
            ok = False
    return env if ok else None


def stylesheet(templates_dir: Path) -> Asset:
    css = (templates_dir / "static" / "site.css").read_bytes()
    digest = hashlib.sha256(css).hexdigest()[:10]
    return Asset(f"/assets/site.{digest}.css", css)


class Renderer:
    """Renders every page of a catalogue. Template faults become problems with file and line."""

    def __init__(self, env: jinja2.Environment, catalogue: Catalogue, css: Asset, templates_dir: Path):
        self.env = env
        self.catalogue = catalogue
        self.settings = catalogue.settings
        self.templates_dir = templates_dir
        self.meter_json = Markup(json.dumps(dataclasses.asdict(self.settings.meter), sort_keys=True))
        env.globals.update(
            site=self.settings,
            code_sets=CODE_SETS,
            settings_code_sets=self.settings.code_sets,
            css_url=css.path,
            record_of=catalogue.get,
            label_of=label_of,
            absolute=self.absolute,
        )

    def absolute(self, path: str) -> str:
        return self.settings.site_url + path

    def render(self, template: str, **context: Any) -> str:
        try:
            return self.env.get_template(template).render(**context)
        except jinja2.TemplateError as exc:
            raise self._template_problem(exc) from None

    def _template_problem(self, exc: Exception) -> TemplateProblem:
        templates = self.templates_dir.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and Path(frame.filename).resolve().is_relative_to(templates):
                return TemplateProblem(Path(frame.filename), frame.lineno or 1, f"template error: {exc}")
        return TemplateProblem(templates, 1, f"template error: {exc}")

    # pages ------------------------------------------------------------------------------

    def home(self) -> Page:
        counts = self.catalogue.counts()
        return Page("/", self.render("home.html", page_path="/", counts=counts,
                                     top_level={key: self.catalogue.top_level(key) for key in CODE_SETS}))

    def code_set_index(self, key: str) -> Page:
        return Page(f"/{key}/", self.render("code_set.html", page_path=f"/{key}/", code_set=key,
                                            entries=self.catalogue.top_level(key),
                                            children_of=self.catalogue.children_of))

    def record_page(self, record: Record) -> Page:
        template = "range.html" if record.is_range else "code.html"
        common = next((s for s in record.public_sections if s.id == "common-language"), None)
        description = _summary_text(common.text if common else "", record.descriptor)
        html = self.render(
            template,
            page_path=record.url,
            record=record,
            code_set=record.code_set,
            ancestors=self.catalogue.ancestors(record),
            children=self.catalogue.children_of(record),
            related=[r for r in (self.catalogue.get(c) for c in record.related) if r],
            note_groups=self.note_groups(record) if record.notes else [],
            meta_description=description,
            json_ld=Markup(self.json_ld(record, description)),
            assistant_url=self.assistant_url(record),
            meter_json=self.meter_json,
        )
        protected = {s.id: self.render("_section_body.html", section=s) for s in record.protected_sections}
        return Page(record.url, html, protected)

    def link_codes(self, text: str) -> Markup:
        """Note text with every code or block it names linked to its page."""
        out, last = [], 0
        for match in CODE_IN_NOTE.finditer(text):
            key = f"{match.group(1)}-{match.group(2)}" if match.group(2) else match.group(1)
            target = self.catalogue.get(key)
            if target is None:
                continue
            out.append(escape(text[last:match.start()]))
            out.append(Markup('<a href="{}">{}</a>').format(target.url, match.group(0)))
            last = match.end()
        out.append(escape(text[last:]))
        return Markup("").join(out)

    def note_groups(self, record: Record) -> list[tuple[str, list[Markup]]]:
        """Instructional notes as list items grouped by kind, in the order coders read them."""
        groups: dict[str, list[Markup]] = {}
        for note in record.notes:
            groups.setdefault(note.kind, []).append(self.note_item(note.kind, note.text, note.inherited_from))
        return [(NOTE_LABELS.get(kind, kind), groups[kind]) for kind in NOTE_LABELS if kind in groups]

    @functools.cache  # noqa: B019 - one renderer per build; a category's notes repeat below it
    def note_item(self, kind: str, text: str, inherited_from: str | None) -> Markup:
        """One note as a list item."""
        item = self.link_codes(text)
        source = self.catalogue.get(inherited_from) if inherited_from else None
        if source is not None:
            item += Markup(' <span class="inherited">(applies from <a href="{}">{}</a>)</span>').format(
                source.url, source.code)
        return Markup("<li>") + item + Markup("</li>")

    def not_found(self) -> Page:
        return Page("/404.html", self.render("404.html", page_path="/404.html"))

    def search_page(self) -> Page:
        from . import search  # the search page's script and filter choices live with the index
        return Page("/search/", self.render("search.html", page_path="/search/",
                                            search=search.page_context(self.catalogue, self.templates_dir)))

    # metadata ---------------------------------------------------------------------------

    def assistant_url(self, record: Record) -> str | None:
        template = self.settings.assistant.url
        if template is None:
            return None
        return template.replace("{code}", quote(record.code, safe="")).replace(
            "{code_set}", quote(record.code_set, safe=""))

    def json_ld(self, record: Record, description: str) -> str:
        code_set = self.settings.code_sets[record.code_set]
        page: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "WebPage",
            "name": f"{label_of(record)}: {record.descriptor}",
            "url": self.absolute(record.url),
            "description": description,
            "about": {
                "@type": "MedicalCode",
                "codeValue": record.code,
                "codingSystem": code_set.name.replace("®", ""),
                "name": record.descriptor,
            },
        }
        if record.protected_sections:
            # Google's paywalled-content markup: the sections a visitor may have to unlock.
            page["isAccessibleForFree"] = False
            page["hasPart"] = {
                "@type": "WebPageElement",
                "isAccessibleForFree": False,
                "cssSelector": ".protected-section",
            }
        # "</" could end the <script> element early; JSON allows "<\/"
        return json.dumps(page, ensure_ascii=False, indent=1).replace("</", "<\\/")

    def sitemaps(self, page_paths: list[str]) -> list[Page]:
        """sitemap.xml (an index of numbered sitemaps when there are more URLs than one may hold)."""
        chunks = [page_paths[i:i + SITEMAP_LIMIT] for i in range(0, len(page_paths), SITEMAP_LIMIT)] or [[]]
        if len(chunks) == 1:
            return [Page("/sitemap.xml", self.render("sitemap.xml", urls=chunks[0], sitemaps=[]))]
        files = [Page(f"/sitemap-{n}.xml", self.render("sitemap.xml", urls=chunk, sitemaps=[]))
                 for n, chunk in enumerate(chunks, 1)]
        index = [f"/sitemap-{n}.xml" for n in range(1, len(chunks) + 1)]
        return files + [Page("/sitemap.xml", self.render("sitemap.xml", urls=[], sitemaps=index))]

    def robots(self) -> Page:
        return Page("/robots.txt", f"User-agent: *\nDisallow: /auth/\n\nSitemap: {self.absolute('/sitemap.xml')}\n")


def label_of(record: Record) -> str:
    """How a page names its record: "CPT® Code 62326", "ICD-10-CM block M50-M54"."""
    name = CODE_SETS[record.code_set].label
    if record.kind in ("chapter", "block"):
        return f"{name} {record.kind} {record.code}"
    if record.is_range:
        return f"{name} codes {record.code}"
    return f"{name} Code {record.code}"


def _summary_text(text: str, fallback: str, limit: int = 155) -> str:
    text = re.sub(r"\s+", " ", text).strip() or fallback
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
