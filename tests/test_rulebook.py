import unicodedata

from scanner.analyzers._catalogue import load_catalogue
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


def test_reference_documents_every_catalogued_check_with_both_examples():
    text = render()
    entries = [entry for cat in load_catalogue().values() for entry in cat.checks]

    headings = [f"### `{e.id}` ({e.severity.value}, {e.category.value})" for e in entries]
    assert [h for h in headings if h not in text] == []
    assert "- Hit: `scripts/search.py`" in text
    assert 'subprocess.run(["grep", "-rn", "--", query, "."], check=True)' in text
    assert "- Near miss: `models/classifier.pkl` (reported at most INFO): a pickle of" in text


def test_reference_shows_invisible_characters_escaped():
    text = render()

    hidden = {c for c in text if unicodedata.category(c) in ("Cf", "Co", "Cn")}
    assert hidden == set()
    assert "\\U000e0049" in text
    assert "ig\\u200bnore" in text
