from scanner.rulebook import render
from tests.conftest import REPO


def test_committed_rule_reference_matches_the_rules():
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")

    assert committed == render(), "run: python -m scanner.rulebook > docs/rules.md"


def test_reference_documents_every_yaml_rule_with_examples():
    text = render()

    assert "### `rce.pipe-to-shell` (HIGH, remote_code_execution)" in text
    assert text.count("- Hit: ") == text.count("- Near miss: ")
    assert text.count("- Hit: ") >= 50
