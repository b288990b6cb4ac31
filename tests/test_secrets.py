"""Secrets planted in the docs (and in a package's sources) never reach a corpus; the manifest counts them."""

from __future__ import annotations

import json

from mkdocs_aigen.cli import main
from mkdocs_aigen.ml.package_corpus import CorpusRecipe, build_package_corpus
from mkdocs_aigen.ml.secrets import REDACTED, redact_secrets

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "R8q2Lk9ZtX4vB7nW1cY6pD3sF0gH5jM2aE8u"
PEM_BODY = "MIIEowIBAAKCAQEA7bq9x1pLwK3sVJ0QmF2hZ8yUeR4tN6cD1oG5iB3aW9vXkYzT"
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n{PEM_BODY[::-1]}\n-----END RSA PRIVATE KEY-----"
PLANTED = (AWS_KEY, GITHUB_TOKEN, PEM_BODY, PEM_BODY[::-1])


def test_redaction_replaces_each_secret_and_keeps_the_rest():
    text = (f"Set `AWS_ACCESS_KEY_ID={AWS_KEY}` and the token {GITHUB_TOKEN}.\n\n```\n{PRIVATE_KEY}\n```\n"
            f'password = "hunter2hunter2"\napi_key: "${{API_KEY}}"\nThe secret of caching is a key.\n'
            f"sha256 3f786850e387550fdab836ed7e6dc881de23001b, host 8.8.8.8\n")
    redacted, count = redact_secrets(text)
    assert count == 4 and not any(secret in redacted for secret in (*PLANTED, "hunter2hunter2"))
    assert redacted.count(REDACTED) == 4
    for kept in ('api_key: "${API_KEY}"', "The secret of caching is a key.", "3f786850e387550fdab836ed7e6dc881de23001b",
                 "8.8.8.8", "```\n" + REDACTED + "\n```"):
        assert kept in redacted
    assert redact_secrets(redacted) == (redacted, 0)


def test_site_corpus_holds_no_planted_secret(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: s\nplugins:\n  - aigen\n")
    (docs / "index.md").write_text("# Home\n\nWidgets caches renders.\n\n## Install\n\nRun `pip install widgets`.\n")
    (docs / "deploy.md").write_text(
        f"# Deploy\n\nDeploying needs credentials.\n\n## Credentials\n\nExport `AWS_ACCESS_KEY_ID={AWS_KEY}` "
        f"and `GITHUB_TOKEN={GITHUB_TOKEN}`, then add the deploy key:\n\n```\n{PRIVATE_KEY}\n```\n\n"
        f"## Rollback\n\nRedeploy the previous tag.\n")
    assert main(["corpus", "-f", str(tmp_path / "mkdocs.yml")]) == 0
    assert ", 3 secrets redacted)" in capsys.readouterr().out
    corpus = tmp_path / ".aigen" / "corpus"
    text = "".join(path.read_text() for path in sorted(corpus.iterdir()))
    assert "Deploying needs credentials" in text and REDACTED in text
    assert not any(secret in text for secret in PLANTED)
    assert json.loads((corpus / "manifest.json").read_text())["secrets_redacted"] == 3


def test_package_corpus_holds_no_planted_secret(tmp_path):
    package = tmp_path / "src" / "widgets"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f'"""Widgets: caches renders.\n\nConnect with the key {AWS_KEY} and the token {GITHUB_TOKEN}.\n"""\n\n'
        f"def connect(host: str) -> None:\n    \"\"\"Connect to ``host`` with the deploy key:\n\n"
        f"    {PRIVATE_KEY.replace(chr(10), chr(10) + '    ')}\n    \"\"\"\n    return None\n")
    (package / "README.md").write_text(f"# Widgets\n\nWidgets caches renders. Token: {GITHUB_TOKEN}\n" * 3)
    recipe = CorpusRecipe(include_stdlib=False, include_site_packages=False, extra_dirs=(str(tmp_path / "src"),),
                          min_doc_chars=10)
    manifest = build_package_corpus(tmp_path / "corpus", recipe)
    text = "".join(path.read_text() for path in sorted((tmp_path / "corpus").iterdir()))
    assert "caches renders" in text and not any(secret in text for secret in PLANTED)
    assert manifest["secrets_redacted"] >= 4
