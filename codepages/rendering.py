"""Pages from templates: Jinja2 turns the catalogue into HTML, the sitemap and robots.txt.

A code page is rendered as its public, gated version: each protected section appears only as
its placeholder (with a stable id); the section's own content is rendered separately into
`Page.protected`, for the seal step (`sealing.seal_page`), and never into the page itself.

What many pages repeat (breadcrumbs of a parent, the notes an ancestor passes down, a list of
siblings, an MS-DRG exclusion list) is rendered once and reused.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from . import notes
from .catalogue import Catalogue
from .codesets import CODE_SETS, sort_key
from .errors import Problems
from .records import Record, Section
from .reference import CodeReference, IcdReference

PAGE_TEMPLATES = ("home.html", "code_set.html", "range.html", "code.html", "404.html", "search.html", "_header.html",
                  "changes.html", "exclusions.html", "help.html", "_sources.html")
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
XML_SPECIAL = re.compile(r"[&<>\"']")
TITLE_LIMIT = 65  # characters of a <title> a results page shows
CHANGE_LISTS = {"new": "New", "revised": "Revised", "deleted": "Deleted", "terminated": "Terminated"}
SIBLINGS_SHOWN = 40  # a code page lists at most this many codes beside it under its parent
EXCLUSIONS_IN_PLACE = 30  # an MS-DRG CC exclusion list longer than this gets a page of its own
BADGES = {"new": "New", "revised": "Revised", "deleted": "Deleted", "terminated": "Terminated"}


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


# Templates this process compiled or read, by template name and source digest: the preview
# makes a new environment on every save, and the tests build many projects from one set of
# templates. Compiling them takes ~0.7 s, reading them from the folder cache ~0.05 s.
_COMPILED: dict[tuple[str, str], CodeType] = {}


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache in a project's folder, behind the templates this process has
    compiled already (wherever their project is: the code is given the template's own path)."""

    def __init__(self, directory: str):
        super().__init__(directory)
        self.names: dict[str, str] = {}  # bucket key → template name, for set_bucket

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None,
                   source: str) -> Bucket:
        bucket = Bucket(environment, self.get_cache_key(name, filename), self.get_source_checksum(source))
        compiled = _COMPILED.get((name, bucket.checksum))
        if compiled is not None and filename is not None:
            bucket.code = _relocated(compiled, filename)
        else:
            self.load_bytecode(bucket)
            if bucket.code is not None:
                _COMPILED[(name, bucket.checksum)] = bucket.code
        self.names[bucket.key] = name
        return bucket

    def set_bucket(self, bucket: Bucket) -> None:
        super().set_bucket(bucket)
        if bucket.code is not None and bucket.key in self.names:
            _COMPILED[(self.names[bucket.key], bucket.checksum)] = bucket.code


def _relocated(code: CodeType, filename: str) -> CodeType:
    """`code` (and the functions in it) as compiled from `filename`, for tracebacks."""
    if code.co_filename == filename:
        return code
    consts = tuple(_relocated(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def make_environment(templates_dir: Path, problems: Problems,
                     cache_dir: Path | None = None) -> jinja2.Environment | None:
    """The templates, each checked; compiled ones are kept in `cache_dir` (keyed by their source)."""
    bytecode = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        bytecode = CompiledTemplates(str(cache_dir))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates do not change during a build: no stat() per page
        bytecode_cache=bytecode,
    )
    env.filters["thousands"] = lambda number: f"{number:,}"
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


def asset(templates_dir: Path, name: str) -> Asset:
    """A static file of templates/static/, published under a name carrying its content's hash."""
    data = (templates_dir / "static" / name).read_bytes()
    stem, _, suffix = name.rpartition(".")
    return Asset(f"/assets/{stem}.{hashlib.sha256(data).hexdigest()[:10]}.{suffix}", data)


def stylesheet(templates_dir: Path) -> Asset:
    return asset(templates_dir, "site.css")


class Renderer:
    """Renders every page of a catalogue. Template faults become problems with file and line."""

    def __init__(self, env: jinja2.Environment, catalogue: Catalogue, css: Asset, templates_dir: Path,
                 reference: IcdReference | None = None, releases: dict[str, str] | None = None):
        self.env = env
        self.releases = releases or {}  # code set → its newest release, whose changes the lists show
        self.reference = reference  # ICD-10-CM reference data: code history, MS-DRG, GEMs
        self.catalogue = catalogue
        self.settings = catalogue.settings
        self.templates_dir = templates_dir
        self.meter_json = Markup(json.dumps(dataclasses.asdict(self.settings.meter), sort_keys=True))
        self.assets = {name: asset(templates_dir, name) for name in ("favicon.svg", "notfound.js")}
        ranges = [(r.code.split("-")[0], r.code.split("-")[1], r.code) for r in catalogue.records.values()
                  if r.code_set == "icd-10-cm" and r.is_range and r.status != "deleted"]
        self.notes = notes.NoteRenderer(catalogue.url_of, ranges, self._note_source_label, "/icd-10-cm/")
        self.modules: list[Any] | None = None  # the macros of _sources.html and _macros.html, loaded on first use
        self._prepared: dict[str, tuple[jinja2.Template, dict[str, Any]]] = {}  # see render()
        env.globals.update(
            site=self.settings,
            code_sets=CODE_SETS,
            settings_code_sets=self.settings.code_sets,
            css_url=css.path,
            favicon_url=self.assets["favicon.svg"].path,
            record_of=catalogue.get,
            url_of=catalogue.url_of,
            label_of=label_of,
            absolute=self.absolute,
            badge_of=badge_of,
        )
        env.globals["chrome"] = {  # the parts every page shares, made once
            "header": Markup(self.render("_header.html", search_box=True)),
            "header_without_search": Markup(self.render("_header.html", search_box=False)),
        }
        self._prepared.clear()  # copied before the globals were complete


    def absolute(self, path: str) -> str:
        return self.settings.site_url + path

    def render(self, template: str, **context: Any) -> str:
        """What `Template.render(**context)` gives, made for a page rendered 100,000 times: the
        globals are copied once per template into a plain dict, not from a ChainMap on every
        page, and the page's context holds them as its own names, so the macros a template
        imports are the module Jinja made once (the two were 15 % of a code page's rendering)."""
        try:
            found = self._prepared.get(template)
            if found is None:
                compiled = self.env.get_template(template)
                found = self._prepared[template] = (compiled, dict(compiled.globals))
            compiled, names = found
            page = jinja2.runtime.new_context(self.env, compiled.name, compiled.blocks, {**names, **context}, True)
            try:
                return self.env.concat(compiled.root_render_func(page))
            except Exception:
                self.env.handle_exception()  # raises it again, its traceback in template lines
        except jinja2.TemplateError as exc:
            raise self._template_problem(exc) from None

    def _template_problem(self, exc: Exception) -> TemplateProblem:
        templates = self.templates_dir.resolve()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and Path(frame.filename).resolve().is_relative_to(templates):
                return TemplateProblem(Path(frame.filename), frame.lineno or 1, f"template error: {exc}")
        return TemplateProblem(templates, 1, f"template error: {exc}")

    def _macro(self, name: str) -> Any:
        """A macro of _sources.html or _macros.html, called from Python."""
        try:
            if self.modules is None:
                self.modules = [self.env.get_template(t).module for t in ("_sources.html", "_macros.html")]
            return next(getattr(m, name) for m in self.modules if hasattr(m, name))
        except jinja2.TemplateError as exc:
            raise self._template_problem(exc) from None

    def _call(self, macro: str, *args: Any) -> Markup:
        try:
            return Markup(self._macro(macro)(*args))
        except jinja2.TemplateError as exc:
            raise self._template_problem(exc) from None

    def _note_source_label(self, key: str) -> str:
        record = self.catalogue.get(key)
        return key if record is None else f"{record.code} {record.descriptor}"

    # pages ------------------------------------------------------------------------------

    def home(self) -> Page:
        catalogue = self.catalogue
        chapters = [r for r in catalogue.top_level("icd-10-cm") if r.kind == "chapter"]
        ranges = {key: [r for r in catalogue.top_level(key) if r.is_range or r.kind == "section"]
                  for key in ("cpt", "hcpcs")}
        html = self.render("home.html", page_path="/", code_counts=catalogue.code_counts(), chapters=chapters,
                           ranges=ranges, json_ld=Markup(self._json(self.website_json_ld())))
        return Page("/", html)

    def code_set_index(self, key: str) -> Page:
        entries = self.catalogue.top_level(key)
        groups = sorted(self.catalogue.group_members) if key == "cpt" else []
        lists = [(word, f"/{key}/{name}/", len(self.changed(key, name))) for name, word in CHANGE_LISTS.items()]
        crumbs = [("Home", "/"), (self.settings.code_sets[key].name, f"/{key}/")]
        html = self.render("code_set.html", page_path=f"/{key}/", code_set=key, entries=entries,
                           children_of=self.catalogue.children_of, groups=groups,
                           change_lists=[item for item in lists if item[2]], release=self.releases.get(key),
                           code_count=self.catalogue.code_counts()[key],
                           json_ld=Markup(self._json(self.breadcrumb_json_ld(crumbs))))
        return Page(f"/{key}/", html)

    def change_lists(self, code_sets: Iterable[str]) -> list[Page]:
        """"New", "Revised" and "Deleted" in the newest release, for each of `code_sets` that has any."""
        pages = []
        for key in code_sets:
            for status, word in CHANGE_LISTS.items():
                records = self.changed(key, status)
                if not records:
                    continue
                url = f"/{key}/{status}/"
                release = self.releases.get(key, "")
                crumbs = [("Home", "/"), (self.settings.code_sets[key].name, f"/{key}/"), (word, url)]
                html = self.render("changes.html", page_path=url, code_set=key, status=status, word=word,
                                   records=records, release=release,
                                   heading=list_heading(word, release, self.settings.code_sets[key].name),
                                   title=list_title(word, release, self.settings.code_sets[key].name, self.settings.name),
                                   json_ld=Markup(self._json(self.breadcrumb_json_ld(crumbs))))
                pages.append(Page(url, html))
        return pages

    def changed(self, code_set: str, status: str) -> list[Record]:
        """The codes the newest release of a code set made new, revised, deleted or terminated, in code order."""
        release = self.releases.get(code_set)  # None: the statuses are the editors' (CPT records of their own)
        return sorted((r for r in self.catalogue.with_status(code_set, status)
                       if release is None or r.changed_in == release), key=lambda r: sort_key(r.code))

    def record_page(self, record: Record) -> Page:
        template = "code.html" if is_code_page(record) else "range.html"
        sections = self.sections_of(record)
        if template == "range.html":  # range pages are not metered: nothing protected is shown on them
            sections = [s for s in sections if not s.protected]
        common = next((s for s in sections if s.id == "common-language"), None)
        description = meta_description(record, common.text if common and not common.protected else "")
        previous, following = self.catalogue.neighbours(record)
        children = self.catalogue.children_of(record)
        has_protected = any(s.protected for s in sections)
        others = [s for s in sections if s is not common]
        if template == "code.html":  # the public ones first, then the protected ones
            others = [s for s in others if not s.protected] + [s for s in others if s.protected]
        html = self.render(
            template,
            page_path=record.url,
            record=record,
            code_set=record.code_set,
            label=label_of(record),
            title=page_title(record, self.settings.name),
            sections=Markup("\n").join(self.section_html(s) for s in others),
            crumb_items=self.breadcrumbs_html(record.parent or "", record.code_set),
            notes_html=self.notes.notes_of(record.notes, record.code) if record.notes else "",
            common=self.section_html(common) if common is not None else "",
            children=children,
            deleted_children=self.catalogue.deleted_children.get(record.code, []),
            siblings=self.siblings_html(record) if not children and self.catalogue.siblings_of(record) else "",
            previous=previous,
            next=following,
            related=[r for r in (self.catalogue.get(c) for c in record.related) if r],
            meta_description=description,
            json_ld=Markup(self._json([self.page_json_ld(record, description, has_protected),
                                       self.crumbs_json_ld(record)])),
            assistant_url=self.assistant_url(record),
            meter_json=self.meter_json,
            has_protected=has_protected,
        )
        protected = {s.id: self.render("_section_body.html", section=s) for s in sections if s.protected}
        return Page(record.url, html, protected)

    def section_html(self, section: Section) -> Markup:
        """A section as it is published: its content, or, protected, its placeholder (sealed later)."""
        if section.protected:
            return self._placeholder(section.id, section.title)
        body = section.html if not section.crosswalk else self.render("_section_body.html", section=section)
        kind = "public-section reference-section" if section.source else "public-section"
        ident = escape(section.id)
        return Markup(f'<section class="{kind}" id="{ident}" aria-labelledby="{ident}-title">\n'
                      f'  <h2 id="{ident}-title">{escape(section.title)}</h2>\n{body}\n</section>')

    @functools.cache  # noqa: B019 - every page's placeholder of one section is the same
    def _placeholder(self, section_id: str, title: str) -> Markup:
        return self._call("protected_placeholder", Section(title, section_id, True, "", "", 0))

    def sections_of(self, record: Record) -> list[Section]:
        """The record's sections in policy order: editors' own, and those the build fills from sources."""
        written = {s.id: s for s in record.sections}
        found = []
        reference = self.reference.for_code(record.code) if self.reference is not None \
            and record.code_set == "icd-10-cm" else None
        for rule in self.settings.sections:
            if rule.source is None:
                if rule.id in written:
                    found.append(written[rule.id])
                continue
            html = self.source_html(rule.source, record, reference)
            if html:
                found.append(Section(rule.title, rule.id, rule.protected, html, "", 0, [], rule.source))
        return found

    def source_html(self, source: str, record: Record, reference: CodeReference | None) -> Markup:
        """A section filled from a source, or "" when the source says nothing about the record."""
        if source == "history":
            if record.code_set == "hcpcs" and record.entry is not None:
                return self._call("hcpcs_history", record)
            history = getattr(reference, "history", None)
            if history is None or self.reference is None:
                return Markup("")
            return self._call("icd_history", record, history, self.reference.history)
        if source == "ms-drg":
            msdrg = getattr(reference, "msdrg", None)
            if msdrg is None:
                return Markup("")
            return self.ms_drg_html(msdrg.severity, msdrg.alive_only, msdrg.exclusion_collection, msdrg.excluded_with,
                                    msdrg.severity_excluded_in, msdrg.hac, msdrg.hac_name, msdrg.mdcs, msdrg.groups)
        if source == "gems":
            gems = getattr(reference, "gems", None)
            if gems is None or self.reference is None:
                return Markup("")
            return self.gems_html(gems.to_icd9, gems.from_icd9)
        if source == "hcpcs":
            return self._call("hcpcs_details", record, record.entry) if record.entry is not None and \
                record.code_set == "hcpcs" else Markup("")
        return Markup("")

    @functools.cache  # noqa: B019 - codes of one category mostly say the same
    def ms_drg_html(self, *facts: Any) -> Markup:
        severity, alive_only, collection, excluded_with, excluded_in, hac, hac_name, mdcs, groups = facts
        assert self.reference is not None
        summary = {"severity": severity, "alive_only": alive_only, "severity_excluded_in": excluded_in, "hac": hac,
                   "hac_name": hac_name, "mdcs": mdcs}
        return self._call("ms_drg", summary, self.exclusions_html(collection, excluded_with),
                          self.drg_groups_html(groups), self.reference.msdrg)

    @functools.cache  # noqa: B019 - the 7th-character codes of a code mostly map alike
    def gems_html(self, to_icd9: tuple[Any, ...], from_icd9: tuple[Any, ...]) -> Markup:
        assert self.reference is not None
        return self._call("gems", to_icd9, from_icd9, self.reference.gems)

    @functools.cache  # noqa: B019 - a collection serves every code that shares it
    def exclusions_html(self, collection: str | None, codes: tuple[str, ...]) -> Markup:
        if not codes:
            return Markup("")
        listed = collection is not None and len(codes) > EXCLUSIONS_IN_PLACE
        return self._call("exclusion_list", collection, codes, exclusion_url(collection) if listed else None)

    def exclusion_lists(self) -> list[Page]:
        """One page per long MS-DRG CC exclusion list: its principal diagnoses, and the codes it applies to."""
        if self.reference is None:
            return []
        applies: dict[str, list[Record]] = {}
        data = self.reference.msdrg
        for code, (_severity, collection, *_) in data.cc.items():
            record = self.catalogue.get(code)
            if collection and record is not None:
                applies.setdefault(collection, []).append(record)
        for records in applies.values():
            records.sort(key=lambda r: sort_key(r.code))
        pages = []
        for collection, codes in data.exclusions.items():
            if len(codes) <= EXCLUSIONS_IN_PLACE or collection not in applies:
                continue
            url = exclusion_url(collection)
            crumbs = [("Home", "/"), ("ICD-10-CM", "/icd-10-cm/"), (f"CC exclusion list {collection}", url)]
            listed = [self.catalogue.get(code) or code for code in codes]
            html = self.render("exclusions.html", page_path=url, collection=collection, data=data, codes=listed,
                               applies=applies[collection],
                               json_ld=Markup(self._json(self.breadcrumb_json_ld(crumbs))))
            pages.append(Page(url, html))
        return pages

    @functools.cache  # noqa: B019
    def drg_groups_html(self, groups: tuple[Any, ...]) -> Markup:
        return self._call("drg_groups", groups, self.reference.msdrg) if groups and self.reference else Markup("")

    @functools.cache  # noqa: B019 - every child of a parent shows the same breadcrumbs
    def breadcrumbs_html(self, parent: str, code_set: str) -> Markup:
        record = self.catalogue.get(parent)
        chain = ([*self.catalogue.ancestors(record), record] if record is not None else [])
        return self._call("breadcrumb_items", chain, code_set)

    def forget_neighbours(self) -> None:
        """Drop the pieces kept for reuse by neighbouring codes (breadcrumbs, siblings, notes, the
        reference blocks of one category). A rendering worker calls it between chunks of neighbouring
        pages: these pieces are reused within a stretch of the catalogue, and each worker would
        otherwise keep its own copy of half of them all (15-20 % of a full build's peak memory). The
        pieces reused across the whole catalogue (exclusion lists, placeholders, links) stay."""
        for cached in (Renderer.breadcrumbs_html, Renderer._crumbs_of, Renderer._sibling_positions,
                       Renderer._siblings_list, Renderer.ms_drg_html, Renderer.gems_html):
            cached.cache_clear()
        self.notes.forget_neighbours()

    def siblings_html(self, record: Record) -> Markup:
        """The codes beside a leaf under its parent, the current one marked; of a long list (an
        HCPCS section holds 2,000 codes) the codes around it and a link to the whole list."""
        parent = record.parent or ""
        siblings = self.catalogue.children.get(parent, [])
        if len(siblings) <= SIBLINGS_SHOWN:
            listing = self._siblings_list(parent)
        else:
            at = self._sibling_positions(parent).get(record.code, 0)
            start = max(0, min(at - SIBLINGS_SHOWN // 2, len(siblings) - SIBLINGS_SHOWN))
            listing = str(self._call("code_list", siblings[start:start + SIBLINGS_SHOWN], "code-list siblings"))
            holder = self.catalogue.get(parent)
            if holder is not None:
                listing += (f'<p class="siblings-all"><a href="{escape(holder.url)}">All {len(siblings):,} codes under '
                            f'{escape(holder.crumb)}</a></p>')
        current = f'<li><a href="{record.url}">'
        return Markup(listing.replace(current, f'<li aria-current="page"><a href="{record.url}" aria-current="page">', 1))

    @functools.cache  # noqa: B019 - one renderer per build
    def _sibling_positions(self, parent: str) -> dict[str, int]:
        return {r.code: i for i, r in enumerate(self.catalogue.children.get(parent, []))}

    @functools.cache  # noqa: B019 - siblings share one list
    def _siblings_list(self, parent: str) -> str:
        record = self.catalogue.get(parent)
        return str(self._call("code_list", self.catalogue.children.get(parent, []), "code-list siblings")) \
            if record is not None else ""

    def not_found(self) -> Page:
        return Page("/404.html", self.render("404.html", page_path="/404.html", script_url=self.assets["notfound.js"].path,
                                             codes_url="/search/codes/"))

    def help_page(self) -> Page:
        url = "/help/assistant/"
        crumbs = [("Home", "/"), ("Coding assistant", url)]
        return Page(url, self.render("help.html", page_path=url,
                                     json_ld=Markup(self._json(self.breadcrumb_json_ld(crumbs)))))

    def search_page(self) -> Page:
        from . import search  # the search page's script and filter choices live with the index
        return Page("/search/", self.render("search.html", page_path="/search/",
                                            search=search.page_context(self.catalogue, self.templates_dir)))

    # metadata ---------------------------------------------------------------------------

    def assistant_url(self, record: Record) -> str:
        template = self.settings.assistant.url
        if template is None:
            return "/help/assistant/"
        return template.replace("{code}", quote(record.code, safe="")).replace(
            "{code_set}", quote(record.code_set, safe=""))

    @staticmethod
    def _json(value: Any) -> str:
        # "</" could end the <script> element early; JSON allows "<\/"
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")

    def crumbs_json_ld(self, record: Record) -> dict[str, Any]:
        """BreadcrumbList of a record's page: its parent's list, and the record itself."""
        items = [*self._crumbs_of(record.parent or "", record.code_set), (record.crumb, record.url)]
        return self.breadcrumb_json_ld(items)

    @functools.cache  # noqa: B019 - every child of a parent shares the start of its breadcrumbs
    def _crumbs_of(self, parent: str, code_set: str) -> tuple[tuple[str, str], ...]:
        record = self.catalogue.get(parent)
        chain = [*self.catalogue.ancestors(record), record] if record is not None else []
        return (("Home", "/"), (self.settings.code_sets[code_set].name, f"/{code_set}/"),
                *((a.crumb, a.url) for a in chain))

    def page_json_ld(self, record: Record, description: str, has_protected: bool) -> dict[str, Any]:
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
        if has_protected:
            # Google's paywalled-content markup: the sections a visitor may have to unlock.
            page["isAccessibleForFree"] = False
            page["hasPart"] = {"@type": "WebPageElement", "isAccessibleForFree": False,
                               "cssSelector": ".protected-section"}
        return page

    def breadcrumb_json_ld(self, crumbs: list[tuple[str, str]]) -> dict[str, Any]:
        return {"@context": "https://schema.org", "@type": "BreadcrumbList",
                "itemListElement": [{"@type": "ListItem", "position": n, "name": name, "item": self.absolute(url)}
                                    for n, (name, url) in enumerate(crumbs, 1)]}

    def website_json_ld(self) -> dict[str, Any]:
        return {"@context": "https://schema.org", "@type": "WebSite", "name": self.settings.name,
                "url": self.absolute("/"),
                "potentialAction": {"@type": "SearchAction",
                                    "target": {"@type": "EntryPoint",
                                               "urlTemplate": self.absolute("/search/?q={search_term_string}")},
                                    "query-input": "required name=search_term_string"}}

    def sitemaps(self, entries: list[tuple[str, str]]) -> list[Page]:
        """sitemap.xml (an index of numbered sitemaps when there are more URLs than one may hold).

        `entries`: (URL path, last modified YYYY-MM-DD or ""). Plain string formatting rather
        than a template: it is some 100,000 lines of a fixed format that nobody restyles.
        """
        chunks = [entries[i:i + SITEMAP_LIMIT] for i in range(0, len(entries), SITEMAP_LIMIT)] or [[]]
        if len(chunks) == 1:
            return [Page("/sitemap.xml", self._sitemap_xml("urlset", "url", chunks[0]))]
        files = [Page(f"/sitemap-{n}.xml", self._sitemap_xml("urlset", "url", chunk))
                 for n, chunk in enumerate(chunks, 1)]
        index = [(f"/sitemap-{n}.xml", max((d for _, d in chunk), default="")) for n, chunk in enumerate(chunks, 1)]
        return files + [Page("/sitemap.xml", self._sitemap_xml("sitemapindex", "sitemap", index))]

    def _sitemap_xml(self, root: str, element: str, entries: list[tuple[str, str]]) -> str:
        base = str(escape(self.settings.site_url))
        paths, dates = "".join(path for path, _ in entries), "".join(modified for _, modified in entries)
        if XML_SPECIAL.search(paths) or XML_SPECIAL.search(dates):  # not in code paths
            entries = [(str(escape(path)), str(escape(modified))) for path, modified in entries]
        start, end = f"<{element}><loc>{base}", f"</{element}>"
        lines = [f"{start}{path}</loc><lastmod>{modified}</lastmod>{end}" if modified else f"{start}{path}</loc>{end}"
                 for path, modified in entries]
        return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>',
                          f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">', *lines, f"</{root}>", ""])

    def robots(self) -> Page:
        return Page("/robots.txt", f"User-agent: *\nDisallow: /auth/\n\nSitemap: {self.absolute('/sitemap.xml')}\n")


def exclusion_url(collection: str | None) -> str:
    return f"/icd-10-cm/cc-exclusions/{collection}/"


def is_code_page(record: Record) -> bool:
    """A page of one code (metered), rather than of a range, chapter, section or folder of codes."""
    return record.kind in ("code", "category", "subcategory", "modifier", "") and not record.is_range


def label_of(record: Record) -> str:
    """How a page names its record: "CPT® Code 62326", "ICD-10-CM block M50-M54", "HCPCS J codes"."""
    name = CODE_SETS[record.code_set].label
    if record.kind in ("chapter", "block"):
        return f"{name} {record.kind} {record.code}"
    if record.kind == "section":
        return "HCPCS Level II modifiers" if record.code == "modifiers" else f"HCPCS {record.code} codes"
    if record.kind == "group":
        return record.descriptor
    if record.kind == "modifier":
        return f"HCPCS Modifier {record.code}"
    if record.is_range:
        return f"{name} codes {record.code}"
    return f"{name} Code {record.code}"


def badge_of(record: Record) -> tuple[str, str] | None:
    """(status, short label) for a badge beside the code, or None for a code in force and unchanged."""
    word = BADGES.get(record.status)
    if word is None:
        return None
    short = re.sub(r"^(ICD-10-CM|HCPCS Level II) ", "", record.changed_in)
    return record.status, f"{word} {short}".strip() if record.status != "terminated" else word


def list_heading(word: str, release: str, code_set_name: str) -> str:
    """"New in ICD-10-CM FY2026 (April 1, 2026 update)"; "Revised CPT® codes" (editors' statuses)."""
    return f"{word} in {release}" if release else f"{word} {code_set_name} codes"


def list_title(word: str, release: str, code_set_name: str, site: str) -> str:
    """The list's heading and the site; the release named shorter ("HCPCS Level II October
    2020") when that would not fit a results page."""
    title = f"{list_heading(word, release, code_set_name)} | {site}"
    if len(title) > TITLE_LIMIT:
        short = re.sub(r" \(.*\)$| quarterly file$", "", release)
        title = f"{list_heading(word, short, code_set_name)} | {site}"
    return title


def page_title(record: Record, site: str) -> str:
    """"ICD-10-CM M54.50: Low back pain, unspecified | Codepages", shortened to fit a results page."""
    tail = f" | {site}"
    if record.kind in ("section", "group"):
        return label_of(record) + tail
    lead = f"{CODE_SETS[record.code_set].label} {record.code}: "
    room = TITLE_LIMIT - len(tail) - len(lead)
    descriptor = record.descriptor
    if len(descriptor) > room:
        descriptor = descriptor[:max(room - 1, 0)].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return f"{lead}{descriptor}{tail}"


def meta_description(record: Record, text: str, limit: int = 155) -> str:
    """A description that names the code first, so that no two pages share one."""
    lead = f"{label_of(record)}: {record.descriptor}." if record.kind != "group" else f"{record.descriptor}."
    extra = re.sub(r"\s+", " ", text).strip()
    if not extra:
        extra = {"chapter": "Blocks, categories and codes of this chapter, with their instructional notes.",
                 "block": "Categories and codes of this block, with their instructional notes.",
                 "deleted": "Deleted code: when it was deleted and the codes that replace it.",
                 }.get(record.kind if record.kind in ("chapter", "block") else record.status, "")
    full = f"{lead} {extra}".strip()
    if len(full) <= limit:
        return full
    return full[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
