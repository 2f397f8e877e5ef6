"""Sealing a page's protected sections: one AES-256-GCM token per page, bound to the page.

The static site is the gated version of every page; a page's protected content travels in
it only as one sealed token that the edge function (edge/lib/seal.ts) opens for a visitor
whose meter allows it. The token format, shared with the edge:

    v2.<key id>.<base64url nonce (12 bytes)>.<base64url ciphertext + 16-byte tag>

(base64url without padding). The plaintext is raw DEFLATE of a bundle: a JSON header
``[1418,2754,...]`` (the length in bytes of each protected section's HTML, in page order) and
a newline, then those sections' UTF-8 HTML back to back. One token per page, compressed:
opening costs the edge CPU by the byte and by the call (Deno's node:crypto AES-GCM runs at
~100 MB/s), and ciphertext does not compress when served (with a token per section, a CPT
page's tokens were two thirds of its bytes).

The additional authenticated data is ``b"codepages/v2|" + page_path + "|" +
",".join(section_ids)`` (UTF-8; the ids in page order), so the token opens only on its page
and only where the page holds exactly the protected sections it was sealed for, each part
going to its own section. ``page_path`` is the page's canonical URL path, exactly as the
build writes it (``/cpt/623/62326/``, ``/icd-10-cm/M54/M54.50/``; see ``codesets.url_path``);
the edge derives the same string from the request URL.

Keys come from ``CODEPAGES_SEAL_KEYS`` (``kid1:base64key,kid2:base64key``; the first key
seals, every listed key opens, so keys can be rotated). In production the variable is
required; elsewhere a development key is created once in a git-ignored file and reused.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a section is sealed or opened: a build with nothing to do needs no cipher
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VARIABLE = "CODEPAGES_SEAL_KEYS"
VERSION = "v2"
AAD_PREFIX = b"codepages/v2|"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
DEV_KEY_ID = "dev"
GENERATE_HINT = (
    "python -c \"import secrets,base64;"
    "print('k1:'+base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())\""
)

KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
SECTION_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
TOKEN_RE = re.compile(r"v2\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})")
MAX_PLAINTEXT_BYTES = 4_194_304  # what one page's bundle may inflate to: edge/lib/limits.ts, the same


class SealKeyError(Exception):
    """The sealing keys are missing or malformed; the message says what to do."""


@dataclass(frozen=True)
class Keyring:
    """Sealing keys in order: the first seals, all of them open."""

    keys: tuple[tuple[str, bytes], ...]
    source: str  # "environment" or "development key file <path>"

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def current_key(self) -> bytes:
        return self.keys[0][1]

    def get(self, key_id: str) -> bytes | None:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        return None

    def seal(self, page_path: str, sections: Mapping[str, str]) -> str:
        return seal(self.current_key, self.current_id, page_path, sections)

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(ids={[kid for kid, _ in self.keys]!r}, source={self.source!r})"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: only the alphabet, canonical trailing bits."""
    if not B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def additional_data(page_path: str, section_ids: list[str]) -> bytes:
    if not page_path.startswith("/") or not page_path.endswith("/"):
        raise ValueError(f"page path {page_path!r} must be the page's URL path, like /cpt/623/62326/")
    if not section_ids:
        raise ValueError("a page seal holds at least one section")
    for section_id in section_ids:
        if not SECTION_ID_RE.fullmatch(section_id):
            raise ValueError(f"section id {section_id!r} must be lowercase letters, digits and '-'")
    if len(set(section_ids)) != len(section_ids):
        raise ValueError(f"section ids {section_ids!r} are not distinct")
    return AAD_PREFIX + page_path.encode("utf-8") + b"|" + ",".join(section_ids).encode("ascii")


@functools.lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return AESGCM(key)


@functools.lru_cache(maxsize=16)
def _nonce_key(key: bytes) -> bytes:
    return hmac.new(key, b"codepages/v2 nonce key", hashlib.sha256).digest()


def bundle(sections: Mapping[str, str]) -> bytes:
    """The sections as the token's plaintext, before compression (see the module's docstring)."""
    parts = [html.encode("utf-8") for html in sections.values()]
    return json.dumps([len(data) for data in parts], separators=(",", ":")).encode("ascii") + b"\n" + b"".join(parts)


def unbundle(data: bytes, section_ids: list[str]) -> dict[str, str] | None:
    """The sections of a bundle for these ids, or None when it is not one."""
    line_end = data.find(b"\n")
    try:
        lengths = json.loads(data[:line_end]) if line_end > 0 else None
    except ValueError:
        return None
    if not isinstance(lengths, list) or len(lengths) != len(section_ids):
        return None
    sections: dict[str, str] = {}
    at = line_end + 1
    for section_id, length in zip(section_ids, lengths, strict=True):  # same length: checked above
        if not isinstance(length, int) or isinstance(length, bool) or length < 0 or at + length > len(data):
            return None
        try:
            sections[section_id] = data[at:at + length].decode("utf-8")
        except UnicodeDecodeError:
            return None
        at += length
    return sections if at == len(data) else None


def seal(key: bytes, key_id: str, page_path: str, sections: Mapping[str, str]) -> str:
    """Seal a page's protected sections (id → HTML, in page order): `v2.<key_id>.<nonce>.<ciphertext+tag>`.

    The nonce is synthetic (an HMAC of page and content under a key derived from the sealing
    key): the same content seals to the same token, so rebuilds are reproducible and unchanged
    pages stay byte-identical, while different content never shares a nonce.
    """
    if len(key) != KEY_BYTES:
        raise ValueError(f"a sealing key is {KEY_BYTES} bytes, got {len(key)}")
    if not KEY_ID_RE.fullmatch(key_id):
        raise ValueError(f"key id {key_id!r} must be 1-32 letters, digits, '_' or '-'")
    aad = additional_data(page_path, list(sections))
    plain = bundle(sections)
    if len(plain) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"{page_path}: the protected sections hold {len(plain):,} bytes; a page may seal "
                         f"{MAX_PLAINTEXT_BYTES:,}")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    plaintext = compressor.compress(plain) + compressor.flush()
    nonce = hmac.new(_nonce_key(key), aad + b"\0" + plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
    sealed = _cipher(key).encrypt(nonce, plaintext, aad)
    return f"{VERSION}.{key_id}.{b64url(nonce)}.{b64url(sealed)}"


def open_sealed(keyring: Keyring, token: str, page_path: str, section_ids: list[str]) -> dict[str, str] | None:
    """The sealed sections (id → HTML), or None when the token does not open for this page and
    these protected sections (their ids in page order, as the page's markup lists them)."""
    match = TOKEN_RE.fullmatch(token)
    if not match:
        return None
    kid, nonce_text, sealed_text = match.groups()
    key = keyring.get(kid)
    if key is None:
        return None
    from cryptography.exceptions import InvalidTag
    try:
        nonce, sealed = b64url_decode(nonce_text), b64url_decode(sealed_text)
        if len(sealed) < TAG_BYTES:
            return None
        compressed = _cipher(key).decrypt(nonce, sealed, additional_data(page_path, section_ids))
        inflater = zlib.decompressobj(-15)
        plain = inflater.decompress(compressed, MAX_PLAINTEXT_BYTES + 1)
        if len(plain) > MAX_PLAINTEXT_BYTES or not inflater.eof or inflater.unused_data:
            return None
        return unbundle(plain, section_ids)
    except (ValueError, InvalidTag, zlib.error):
        return None


def parse_keys(value: str, where: str = VARIABLE) -> tuple[tuple[str, bytes], ...]:
    """Parse `kid1:base64key,kid2:base64key` (standard or URL-safe base64, padding optional)."""
    keys: list[tuple[str, bytes]] = []
    entries = [entry.strip() for entry in value.split(",")]
    for number, entry in enumerate(entries, start=1):
        if not entry:
            raise SealKeyError(f"{where}: entry {number} is empty; the format is kid1:base64key,kid2:base64key. "
                               f"Generate a key with: {GENERATE_HINT}")
        kid, sep, encoded = entry.partition(":")
        kid, encoded = kid.strip(), encoded.strip()
        if not sep or not KEY_ID_RE.fullmatch(kid):
            raise SealKeyError(f"{where}: entry {number} must be <key id>:<base64 key> with a key id of "
                               f"1-32 letters, digits, '_' or '-'. Generate a key with: {GENERATE_HINT}")
        if any(kid == known for known, _ in keys):
            raise SealKeyError(f"{where}: key id {kid!r} is listed twice")
        try:
            normalised = encoded.replace("-", "+").replace("_", "/")
            key = base64.b64decode(normalised + "=" * (-len(normalised) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise SealKeyError(f"{where}: key {kid!r} is not valid base64. "
                               f"Generate a key with: {GENERATE_HINT}") from None
        if len(key) != KEY_BYTES:
            raise SealKeyError(f"{where}: key {kid!r} is {len(key)} bytes; a sealing key is {KEY_BYTES} "
                               f"random bytes. Generate one with: {GENERATE_HINT}")
        keys.append((kid, key))
    return tuple(keys)


PURPOSES = {
    VARIABLE: "A production build seals protected sections with it, and the edge function opens them "
              "with the same value.",
    "CODEPAGES_METER_KEYS": "The edge function signs and verifies guests' meter cookies with it.",
}


def load_keys(env: Mapping[str, str], dev_key_file: Path, variable: str = VARIABLE) -> Keyring:
    """The keyring for this build (``CODEPAGES_SEAL_KEYS`` unless another variable is named).

    Production (``CONTEXT=production``) requires the variable. Anywhere else a missing
    variable means: use the development key in ``dev_key_file`` (created once, mode 0600,
    in the same ``kid:base64key`` format) so local builds and the local preview share one
    key. The local preview can pass it on to the edge function with ``format_keys``.
    """
    value = (env.get(variable) or "").strip()
    if value:
        return Keyring(parse_keys(value, where=variable), "environment")
    if env.get("CONTEXT") == "production":
        raise SealKeyError(
            f"{variable} is not set. {PURPOSES.get(variable, '')} Generate a key with:\n  {GENERATE_HINT}\n"
            f"and set the output as {variable} (scopes: Builds and Functions) in the site's environment "
            f"variables. To rotate, put the new key first and keep the old one after it: "
            f"k2:NEWKEY,k1:OLDKEY.")
    return Keyring(_dev_keys(Path(dev_key_file)), f"development key file {dev_key_file}")


def format_keys(keyring: Keyring) -> str:
    """The keyring as an environment value (`kid:base64url,...`), e.g. for a local edge process."""
    return ",".join(f"{kid}:{b64url(key)}" for kid, key in keyring.keys)


def _dev_keys(path: Path) -> tuple[tuple[str, bytes], ...]:
    if not path.exists():
        _create_dev_key_file(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SealKeyError(f"cannot read the development sealing key {path}: {error}") from None
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return parse_keys(text, where=str(path))


def _create_dev_key_file(path: Path) -> None:
    """Write a fresh key to `path` atomically and only if no one else did first."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{DEV_KEY_ID}:{b64url(secrets.token_bytes(KEY_BYTES))}\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(line)
        try:
            os.link(temporary, path)  # fails if another process created the key first
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def seal_page(keyring: Keyring, url: str, html: str, protected: Mapping[str, str]) -> str:
    """The page with its protected sections' content sealed into one token.

    The render step leaves `data-section="ID"` on each protected section's tag; the token goes
    right after the first one's, as `data-sealed="TOKEN"`, and binds the sections in the order
    the page shows them (the markup contract of edge/README.md).
    """
    if not protected:
        return html
    anchors: dict[str, int] = {}
    for section_id in protected:
        anchor = f' data-section="{section_id}"'
        at = html.find(anchor)
        if at < 0 or html.find(anchor, at + 1) >= 0:
            raise ValueError(f"{url}: the page must hold section {section_id!r} exactly once to seal it")
        anchors[section_id] = at + len(anchor)
    in_page_order = sorted(protected, key=anchors.__getitem__)
    token = keyring.seal(url, {section_id: protected[section_id] for section_id in in_page_order})
    first = anchors[in_page_order[0]]
    return f'{html[:first]} data-sealed="{token}"{html[first:]}'
