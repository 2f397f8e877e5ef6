"""What the operator meets: production secrets, and sealed sections only the right key opens."""
from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys

from conftest import ROOT, make_project, page, tree_digest

from codepages.sealing import Keyring, open_sealed


def build_with(project, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CODEPAGES_")} | env
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "--content", "content", "--templates", "templates",
                           "--out", "site"], cwd=project, env=environment, capture_output=True, text=True)


def test_production_build_without_a_seal_key_names_the_variable_and_keeps_the_site(tmp_path):
    project = make_project(tmp_path)
    assert build_with(project).returncode == 0
    before = tree_digest(project / "site")
    result = build_with(project, CONTEXT="production")
    assert result.returncode == 1
    assert "CODEPAGES_SEAL_KEYS is not set" in result.stderr and "secrets.token_bytes(32)" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(project / "site") == before


def test_production_build_seals_with_the_configured_key_bound_to_its_page(tmp_path):
    key = secrets.token_bytes(32)
    project = make_project(tmp_path)
    value = "k7:" + base64.urlsafe_b64encode(key).decode().rstrip("=")
    result = build_with(project, CONTEXT="production", CODEPAGES_SEAL_KEYS=value)
    assert result.returncode == 0, result.stderr
    soup = page(project / "site", "/cpt/623/62323/")
    protected = [s["data-section"] for s in soup.select("section.protected-section[data-section]")]
    assert protected == ["summary", "coding-tips", "icd-10-cm-crosswalk", "related-hcpcs", "billing-faq"]
    seals = soup.select("[data-sealed]")
    assert len(seals) == 1 and seals[0]["data-section"] == "summary", "one seal, on the first protected section"
    token = seals[0]["data-sealed"]
    assert token.startswith("v2.k7.")
    keyring = Keyring((("k7", key),), "test")
    sections = open_sealed(keyring, token, "/cpt/623/62323/", protected)
    assert sections is not None and list(sections) == protected
    assert "SECRET-SUMMARY-62323" in sections["summary"]
    assert re.search(r'href="/icd-10-cm/M54/M54.16/".*Radiculopathy, lumbar region', sections["icd-10-cm-crosswalk"],
                     re.S)
    assert open_sealed(keyring, token, "/cpt/623/62322/", protected) is None, "bound to its page"
    assert open_sealed(keyring, token, "/cpt/623/62323/", protected[::-1]) is None, "bound to its sections"
    wrong = Keyring((("k7", secrets.token_bytes(32)),), "test")
    assert open_sealed(wrong, token, "/cpt/623/62323/", protected) is None
