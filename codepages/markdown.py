"""Editors' Markdown → section HTML. Raw HTML is never passed through, links are checked.

Parsing recognises raw HTML (so it can be reported with its line) but rendering escapes it;
every link is checked against an allow-list of schemes; `[[M54.50]]` is a code reference.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .codesets import code_set_of, url_path

InlineRule = Callable[[StateInline, bool], bool]

SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
CODE_REF = re.compile(r"\[\[([^\[\]\n]{1,40})\]\]")


@dataclass
class MarkdownIssue:
    line: int  # 0-based within the body
    message: str


@dataclass
class ParsedSection:
    title: str
    line: int  # 0-based within the body
    html: str
    text: str
    refs: list[tuple[str, int]] = field(default_factory=list)  # (code, 0-based body line)


def _code_ref_rule(state: StateInline, silent: bool) -> bool:
    match = CODE_REF.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        token = state.push("code_ref", "", 0)
        token.content = match.group(1).strip()
        token.meta = {"pos": state.pos}
    state.pos = match.end()
    return True


def _remember_position(rule_fn: InlineRule) -> InlineRule:
    """Wrap an inline rule so the first token it pushes knows where it started."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        if not silent and state.pending:
            state.pushPending()  # so the rule's own first token is the next one pushed
        start, count = state.pos, len(state.tokens)
        matched = rule_fn(state, silent)
        if matched and not silent and len(state.tokens) > count:
            state.tokens[count].meta = {**(state.tokens[count].meta or {}), "pos": start}
        return matched

    return wrapped


def _render_code_ref(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                     env: EnvType) -> str:
    code = tokens[idx].content
    code_set = code_set_of(code)
    label = html.escape(code)
    if code_set is None:
        return label
    return f'<a class="code-ref" href="{url_path(code_set.key, code)}">{label}</a>'


def _render_checked_link(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                         env: EnvType) -> str:
    token = tokens[idx]
    attr = "href" if token.type == "link_open" else "src"
    if check_link(str(token.attrGet(attr) or "")):
        token.attrSet(attr, "#")  # never reached in a published build: the problem fails it
    if token.type == "image":
        token.attrSet("alt", self.renderInlineAsText(token.children or [], options, env))
    return self.renderToken(tokens, idx, options, env)


def _render_escaped(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                    env: EnvType) -> str:
    return html.escape(tokens[idx].content)


def _accept_link(url: str) -> bool:
    return True


def make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _accept_link  # type: ignore[method-assign]  # every link is checked by check_link() instead
    for rule in md.inline.ruler.__rules__:
        if rule.name in ("link", "image", "autolink", "html_inline"):
            md.inline.ruler.at(rule.name, _remember_position(rule.fn))
    md.inline.ruler.before("link", "code_ref", _code_ref_rule)
    md.add_render_rule("code_ref", _render_code_ref)
    md.add_render_rule("link_open", _render_checked_link)
    md.add_render_rule("image", _render_checked_link)
    md.add_render_rule("html_block", _render_escaped)
    md.add_render_rule("html_inline", _render_escaped)
    return md


_PARSER: MarkdownIt | None = None


def parser() -> MarkdownIt:
    global _PARSER
    if _PARSER is None:
        _PARSER = make_parser()
    return _PARSER


def check_link(url: str) -> str | None:
    """Why a link target is refused, or None if it is safe."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", unquote(url)).lower()
    match = SCHEME.match(cleaned)
    if match and match.group(1) not in SAFE_SCHEMES:
        return f"link to '{url}' is not allowed: only http, https, mailto and site-relative links"
    if cleaned.startswith("//"):
        return f"link to '{url}' is not allowed: write the full https:// address"
    return None


def _first_line(token: Token) -> int:
    """The 0-based body line a block token starts on (block tokens always know it)."""
    return token.map[0] if token.map else 0


def _line_in(inline: Token, pos: int | None) -> int:
    if pos is None:
        return _first_line(inline)
    return _first_line(inline) + inline.content.count("\n", 0, pos)


def parse_sections(body: str) -> tuple[list[ParsedSection], list[MarkdownIssue]]:
    """Split a record body into `## ` sections and render each to HTML."""
    md = parser()
    tokens = md.parse(body)
    issues: list[MarkdownIssue] = []
    sections: list[ParsedSection] = []
    current: list[Token] = []
    heading: tuple[str, int] | None = None
    refs: list[tuple[str, int]] = []

    def close() -> None:
        if heading is not None:
            title, line = heading
            rendered = md.renderer.render(current, md.options, {})
            sections.append(ParsedSection(title, line, rendered, _plain_text(current), list(refs)))
        current.clear()
        refs.clear()

    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            title = tokens[index + 1].content.strip()
            if token.tag == "h1":
                issues.append(MarkdownIssue(_first_line(token), f"'# {title}' is a page title; sections start with '## '"))
                index += 3
                continue
            close()
            heading = (title, _first_line(token))
            index += 3
            continue
        if heading is None and token.map is not None:
            issues.append(MarkdownIssue(_first_line(token),
                                        "text before the first section; start the body with a '## ' heading"))
            heading = ("", _first_line(token))  # report once, keep scanning for other problems
        if token.type == "html_block":
            issues.append(MarkdownIssue(_first_line(token), "raw HTML is not allowed in records; use Markdown"))
        if token.type == "inline":
            _check_inline(token, issues, refs)
        current.append(token)
        index += 1
    close()
    return [s for s in sections if s.title], issues


def _check_inline(inline: Token, issues: list[MarkdownIssue], refs: list[tuple[str, int]]) -> None:
    for child in inline.children or []:
        pos = (child.meta or {}).get("pos")
        if child.type == "html_inline":
            if child.content.startswith("</"):
                continue  # the opening tag is reported already
            issues.append(MarkdownIssue(_line_in(inline, pos), f"raw HTML '{child.content}' is not allowed; use Markdown"))
        elif child.type in ("link_open", "image"):
            target = child.attrGet("href") if child.type == "link_open" else child.attrGet("src")
            problem = check_link(str(target or ""))
            if problem:
                issues.append(MarkdownIssue(_line_in(inline, pos), problem))
        elif child.type == "code_ref":
            if code_set_of(child.content) is None:
                issues.append(MarkdownIssue(_line_in(inline, pos),
                                            f"'[[{child.content}]]' is not a CPT, HCPCS or ICD-10-CM code"))
            else:
                refs.append((child.content, _line_in(inline, pos)))


def _plain_text(tokens: list[Token]) -> str:
    parts: list[str] = []
    for token in tokens:
        if token.type == "inline":
            parts.append("".join(
                " " if c.type in ("softbreak", "hardbreak") else c.content
                for c in token.children or [] if c.type in ("text", "code_inline", "code_ref", "softbreak", "hardbreak")
            ))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
    return " ".join(p.strip() for p in parts if p.strip())
