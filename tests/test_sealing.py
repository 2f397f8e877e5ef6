"""Sealing protected sections (codepages/sealing.py): format, binding, keys."""
from __future__ import annotations

import base64
import json
import re
import stat
import zlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from codepages import sealing
from codepages.sealing import Keyring, SealKeyError, load_keys, open_sealed, seal

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "edge" / "tests" / "fixtures"
KEY = bytes(range(32))
SECRET = "<p>Report 62326 once per catheter placement: PROTECTED-PLAINTEXT-MARKER</p>"


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


PAGE = "/cpt/623/62326/"
SECTIONS = {"summary": SECRET, "coding-tips": "<ul><li>naïve — ≥ 5 units</li></ul>"}
IDS = list(SECTIONS)
AAD = b"codepages/v2|/cpt/623/62326/|summary,coding-tips"


def test_round_trip_with_the_aesgcm_api():
    token = seal(KEY, "k1", PAGE, SECTIONS)
    version, kid, nonce, sealed = token.split(".")
    assert (version, kid) == ("v2", "k1")
    assert len(unb64(nonce)) == 12
    compressed = AESGCM(KEY).decrypt(unb64(nonce), unb64(sealed), AAD)
    bundle = zlib.decompress(compressed, -15)
    header, _, body = bundle.partition(b"\n")
    assert json.loads(header) == [len(SECRET.encode()), len(SECTIONS["coding-tips"].encode())]
    assert body.decode() == SECRET + SECTIONS["coding-tips"]
    keyring = Keyring((("k1", KEY),), "test")
    assert open_sealed(keyring, token, PAGE, IDS) == SECTIONS


def test_token_format_and_no_plaintext():
    unicode_secret = SECRET + "<p>naïve — ≥ 5 units</p>"
    tokens = {seal(KEY, "k1", PAGE, {"summary": unicode_secret + str(n)}) for n in range(20)}
    assert len({token.split(".")[2] for token in tokens}) == 20  # different content, different nonce
    again = seal(KEY, "k1", PAGE, {"summary": unicode_secret + "0"})
    assert again in tokens  # the same content seals the same way: reproducible builds
    for token in tokens:
        assert re.fullmatch(r"v2\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+", token)
        assert "=" not in token
        for fragment in ("PROTECTED", "PLAINTEXT", "62326 once", "catheter", "naïve"):
            assert fragment not in token
        assert base64.urlsafe_b64encode(unicode_secret.encode()).decode()[:12] not in token


def test_the_seal_is_compressed():
    long_section = "<p>Report the code once per session, whatever the number of levels reached.</p>\n" * 40
    token = seal(KEY, "k1", PAGE, {"summary": long_section})
    assert len(token) < len(long_section) / 5


def test_aad_binds_the_page_and_its_sections_in_order():
    token = seal(KEY, "k1", PAGE, SECTIONS)
    keyring = Keyring((("k1", KEY),), "test")
    _, _, nonce, sealed = token.split(".")
    with pytest.raises(InvalidTag):
        AESGCM(KEY).decrypt(unb64(nonce), unb64(sealed), b"codepages/v2|/cpt/623/62327/|summary,coding-tips")
    assert open_sealed(keyring, token, "/cpt/623/62327/", IDS) is None
    assert open_sealed(keyring, token, "/CPT/62326/", IDS) is None
    assert open_sealed(keyring, token, "/cpt/62326", IDS) is None  # only the canonical path
    for ids in (["coding-tips", "summary"], ["summary"], IDS + ["billing-faq"], ["summary", "tips"], []):
        assert open_sealed(keyring, token, PAGE, ids) is None, ids


def _sealed_plaintext(plaintext: bytes, compress: bool = True) -> str:
    """Any plaintext sealed for PAGE's summary section as sealing.seal seals a bundle (for what is not one)."""
    if compress:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = compressor.compress(plaintext) + compressor.flush()
    nonce = bytes(12)
    sealed = AESGCM(KEY).encrypt(nonce, plaintext, b"codepages/v2|" + PAGE.encode() + b"|summary")
    return f"v2.k1.{sealing.b64url(nonce)}.{sealing.b64url(sealed)}"


def test_tampered_foreign_or_malformed_tokens_do_not_open():
    token = seal(KEY, "k1", PAGE, SECTIONS)
    keyring = Keyring((("k1", KEY),), "test")
    head, tail = token[:-5], token[-5:]
    flipped = head + ("A" if tail[0] != "A" else "B") + tail[1:]
    other = Keyring((("k1", bytes(32)),), "test")
    assert open_sealed(keyring, _sealed_plaintext(b"[5]\n<p>a>"), PAGE, ["summary"]) == {"summary": "<p>a>"}
    for bad, ring in [
        (flipped, keyring),
        (token.replace("v2.k1.", "v2.k2."), keyring),  # unknown key id
        (token, other),  # same key id, other key
        (token[:40], keyring),  # truncated
        (token + "=", keyring),
        (token.replace(".", "..", 1), keyring),
        ("v1" + token[2:], keyring),  # the old per-section format
        ("", keyring),
        (_sealed_plaintext(b"[5]\n<p>a>", compress=False), keyring),
        (_sealed_plaintext(b"<p>a</p>"), keyring),  # no header
        (_sealed_plaintext(b"[4]\n<p>a>"), keyring),  # lengths short of the data
        (_sealed_plaintext(b"[6]\n<p>a>"), keyring),  # past it
        (_sealed_plaintext(b"[1,1]\nab"), keyring),  # more parts than sections
        (_sealed_plaintext(b"[true]\na"), keyring),
        (_sealed_plaintext(b"[2]\n\xc3\x28"), keyring),  # not UTF-8
        (_sealed_plaintext(b"[]\n"), keyring),
        (_sealed_plaintext(b"[%d]\n" % (sealing.MAX_PLAINTEXT_BYTES + 1)
                           + bytes(sealing.MAX_PLAINTEXT_BYTES + 1)), keyring),  # inflates past the limit
    ]:
        assert open_sealed(ring, bad, PAGE, ["summary"]) is None, bad[:60]


def test_production_without_key_names_the_variable(tmp_path):
    with pytest.raises(SealKeyError) as raised:
        load_keys({"CONTEXT": "production"}, tmp_path / ".dev-secrets" / "seal-keys")
    message = str(raised.value)
    assert "CODEPAGES_SEAL_KEYS" in message
    assert "secrets.token_bytes(32)" in message and "urlsafe_b64encode" in message
    assert not (tmp_path / ".dev-secrets").exists()  # never falls back to a development key


def test_production_with_keys_first_seals_all_open(tmp_path):
    new, old = bytes([1]) * 32, bytes([2]) * 32
    value = f"k2:{base64.urlsafe_b64encode(new).decode()}, k1:{base64.b64encode(old).decode().rstrip('=')}"
    keyring = load_keys({"CONTEXT": "production", "CODEPAGES_SEAL_KEYS": value}, tmp_path / "unused")
    assert keyring.current_id == "k2" and keyring.current_key == new
    old_token = seal(old, "k1", "/hcpcs/J/J0702/", {"summary": SECRET})
    assert open_sealed(keyring, old_token, "/hcpcs/J/J0702/", ["summary"]) == {"summary": SECRET}
    fresh = keyring.seal("/hcpcs/J/J0702/", {"summary": SECRET})
    assert fresh.startswith("v2.k2.")
    assert open_sealed(keyring, fresh, "/hcpcs/J/J0702/", ["summary"]) == {"summary": SECRET}
    assert "k2" in repr(keyring) and new.hex() not in repr(keyring)
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("value, fragment", [
    ("nokid", "key id"),
    ("k1:not*base64!", "not valid base64"),
    ("k1:" + base64.b64encode(bytes(16)).decode(), "16 bytes"),
    ("k1:" + base64.b64encode(bytes(32)).decode() + ",k1:" + base64.b64encode(bytes(32)).decode(), "twice"),
    ("k1:" + base64.b64encode(bytes(32)).decode() + ",", "empty"),
    ("bad.kid:" + base64.b64encode(bytes(32)).decode(), "key id"),
])
def test_malformed_keys_are_reported_with_the_variable(tmp_path, value, fragment):
    for context in ("production", "dev"):
        with pytest.raises(SealKeyError) as raised:
            load_keys({"CONTEXT": context, "CODEPAGES_SEAL_KEYS": value}, tmp_path / "seal-keys")
        assert "CODEPAGES_SEAL_KEYS" in str(raised.value) and fragment in str(raised.value)
    assert not (tmp_path / "seal-keys").exists()


def test_development_key_created_once_and_reused(tmp_path):
    key_file = tmp_path / ".dev-secrets" / "seal-keys"
    first = load_keys({}, key_file)
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_text()
    assert re.fullmatch(r"dev:[A-Za-z0-9_-]{43}\n", content)
    second = load_keys({"CONTEXT": "deploy-preview", "CODEPAGES_SEAL_KEYS": ""}, key_file)
    assert key_file.read_text() == content
    assert first.keys == second.keys and first.current_id == "dev" and len(first.current_key) == 32
    assert "development" in first.source
    token = first.seal("/icd-10-cm/M54/M54.50/", {"summary": SECRET})
    assert open_sealed(second, token, "/icd-10-cm/M54/M54.50/", ["summary"]) == {"summary": SECRET}
    assert [p.name for p in key_file.parent.iterdir()] == ["seal-keys"]  # no temporary left behind


def test_environment_key_wins_over_development_key(tmp_path):
    key_file = tmp_path / "seal-keys"
    load_keys({}, key_file)
    value = "env1:" + base64.urlsafe_b64encode(KEY).decode()
    keyring = load_keys({"CODEPAGES_SEAL_KEYS": value}, key_file)
    assert keyring.keys == (("env1", KEY),) and keyring.source == "environment"


def test_development_key_file_permissions_are_tightened(tmp_path):
    key_file = tmp_path / "seal-keys"
    key_file.write_text("dev:" + base64.urlsafe_b64encode(KEY).decode().rstrip("=") + "\n")
    key_file.chmod(0o644)
    assert load_keys({}, key_file).current_key == KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_seal_rejects_bad_arguments():
    with pytest.raises(ValueError):
        seal(bytes(16), "k1", PAGE, SECTIONS)
    with pytest.raises(ValueError):
        seal(KEY, "k.1", PAGE, SECTIONS)
    with pytest.raises(ValueError):
        seal(KEY, "k1", PAGE, {"Sum mary": SECRET})  # the edge could not place it
    with pytest.raises(ValueError):
        seal(KEY, "k1", PAGE, {"sum,mary": SECRET})  # ',' would make the AAD ambiguous
    with pytest.raises(ValueError):
        seal(KEY, "k1", PAGE, {})
    with pytest.raises(ValueError):
        seal(KEY, "k1", "cpt/62326", SECTIONS)
    with pytest.raises(ValueError, match="may seal"):
        seal(KEY, "k1", PAGE, {"summary": "x" * (sealing.MAX_PLAINTEXT_BYTES + 1)})


def test_seal_page_puts_one_seal_on_the_first_protected_section():
    keyring = Keyring((("k1", KEY),), "test")
    html = ('<section class="protected-section" data-section="coding-tips"><h2>Tips</h2></section>\n'
            '<section class="protected-section" data-section="summary"><h2>Summary</h2></section>')
    sealed = sealing.seal_page(keyring, PAGE, html, SECTIONS)  # SECTIONS lists summary first
    assert sealed.count("data-sealed=") == 1
    assert sealed.index("data-sealed=") < sealed.index('data-section="summary"')  # on coding-tips, the first
    token = re.search(r'data-sealed="([^"]+)"', sealed).group(1)
    assert open_sealed(keyring, token, PAGE, ["coding-tips", "summary"]) == SECTIONS, "bound in page order"
    assert open_sealed(keyring, token, PAGE, IDS) is None
    assert sealing.seal_page(keyring, PAGE, "<p>nothing protected</p>", {}) == "<p>nothing protected</p>"
    with pytest.raises(ValueError, match="exactly once"):
        sealing.seal_page(keyring, PAGE, html + html, SECTIONS)
    with pytest.raises(ValueError, match="exactly once"):
        sealing.seal_page(keyring, PAGE, "<section data-section=\"summary\"></section>", SECTIONS)


def test_committed_edge_fixtures_open_with_the_fixture_key():
    """The fixture pages the edge tests open were sealed by this module (interoperability)."""
    keys = json.loads((FIXTURES / "keys.json").read_text())
    expected = json.loads((FIXTURES / "plaintexts.json").read_text())
    keyring = Keyring(sealing.parse_keys(keys["CODEPAGES_SEAL_KEYS"]), "fixture")
    opened = 0
    for page_path, sections in expected.items():
        html = (FIXTURES / sections["file"]).read_text()
        tokens = re.findall(r' data-sealed="([^"]+)"', html)
        assert len(tokens) == 1, f"{sections['file']}: one seal per page"
        ids = re.findall(r'<section class="protected-section"[^>]* data-section="([^"]+)"', html)
        assert open_sealed(keyring, tokens[0], page_path, ids) == sections["sections"]
        for plain in sections["sections"].values():
            assert plain not in html
        opened += len(sections["sections"])
    assert opened >= 6


def test_other_key_variables_and_format_keys(tmp_path):
    """The same loader serves the edge's meter key locally (CODEPAGES_METER_KEYS)."""
    with pytest.raises(SealKeyError) as raised:
        load_keys({"CONTEXT": "production"}, tmp_path / "meter-keys", variable="CODEPAGES_METER_KEYS")
    assert "CODEPAGES_METER_KEYS is not set" in str(raised.value)
    meter = load_keys({}, tmp_path / "meter-keys", variable="CODEPAGES_METER_KEYS")
    seal_keys = load_keys({}, tmp_path / "seal-keys")
    assert meter.current_key != seal_keys.current_key
    value = sealing.format_keys(meter)
    assert re.fullmatch(r"dev:[A-Za-z0-9_-]{43}", value)
    again = load_keys({"CODEPAGES_METER_KEYS": value}, tmp_path / "unused", variable="CODEPAGES_METER_KEYS")
    assert again.keys == meter.keys
