"""Secret masking of finding texts: what is masked, what is left, and on large text."""

from __future__ import annotations

import random
import re
import string

import pytest

from scanner.analyzers._prefilter import fold_case
from scanner.analyzers._redact import redact_text
from scanner.analyzers._rules import _masked_match, default_ruleset
from scanner.analyzers._text import mask_secret
from scanner.core.models import Category

RULES = default_ruleset()
BIG = 2 * 1024 * 1024

# The former spelling of the named-secret pattern (a leading `\w{0,20}`, quadratic in
# practice): the linear one must mask exactly what it masked.
_FORMER = re.compile(
    r"(?i)(\w{0,20}(?:secret|passw(?:or)?d|passwd|pwd|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|auth)\w{0,20}\s*[=:]\s*[\"']?)"
    r"([A-Za-z0-9/+_\-.~]{12,})"
)


def _sample(seed: int) -> random.Random:
    """Return a generator of repeatable test data (never of secrets)."""
    return random.Random(seed)  # noqa: S311 - a fixed, repeatable sample


def _former_named(text: str) -> str:
    return _FORMER.sub(lambda m: m.group(1) + mask_secret(m.group(2)), text)


_SECRET_RULES = [rule for rule in RULES.rules if rule.spec.category is Category.HARDCODED_SECRET]


def _former_rules(text: str) -> str:
    """Mask as the rule set did before its prefilter: every secret pattern, in order."""
    for rule in _SECRET_RULES:
        for pattern in rule.patterns:
            text = pattern.sub(_masked_match, text)
    return text


_KEYWORDS = [
    "secret", "password", "passwd", "pwd", "token", "api_key", "api-key", "apikey",
    "access_key", "accesskey", "private-key", "client_secret", "auth",
]  # fmt: skip
# Characters a case-insensitive regex reads as "s", "i" and "k".
_EQUIVALENTS = {"s": "\u017f", "i": "\u0131", "k": "\u212a"}
_WORD = string.ascii_letters + string.digits + "_\u00e9"
_VALUE = string.ascii_letters + string.digits + "/+_-.~"
_NOISE = ["the", "token", "Secret", "auth", "api", "report", "42", "\u00e9t\u00e9", "x" * 30]


def _spelled(keyword: str, rng: random.Random) -> str:
    """Return `keyword` in a random mix of cases and case-insensitive equivalents."""
    chars = [rng.choice((c.lower(), c.upper())) for c in keyword]
    return "".join(
        _EQUIVALENTS[c.lower()] if c.lower() in _EQUIVALENTS and rng.random() < 0.1 else c
        for c in chars
    )


def _noise(rng: random.Random) -> str:
    return " ".join(rng.choice(_NOISE) for _ in range(rng.randint(0, 6)))


def _planted_secret(rng: random.Random) -> tuple[str, str]:
    """Return a text holding one secret assigned to a telling name, and the secret."""
    prefix = "".join(rng.choice(_WORD) for _ in range(rng.randint(0, 30)))
    suffix = "".join(rng.choice(_WORD) for _ in range(rng.randint(0, 20)))
    name = prefix + _spelled(rng.choice(_KEYWORDS), rng) + suffix
    value = "".join(rng.choice(_VALUE) for _ in range(rng.randint(12, 40)))
    quote = rng.choice(("", "'", '"'))
    spaces = ("".join(rng.choice(" \t") for _ in range(rng.randint(0, 2))) for _ in range(2))
    assignment = f"{name}{next(spaces)}{rng.choice('=:')}{next(spaces)}{quote}{value}"
    end = quote or rng.choice((" ", "\n", ",", ";", "&", ")"))
    lead = rng.choice(("", "export ", "https://files.test/get?v=1&", "- "))
    return f"{_noise(rng)}\n{lead}{assignment}{end}{_noise(rng)}", value


def _random_text(rng: random.Random) -> str:
    """Return a concatenation of keywords, separators, values and rule examples."""
    examples = [
        text
        for rule in _SECRET_RULES
        for text in (*rule.spec.examples.hit, *rule.spec.examples.miss)
    ]
    pieces = [
        *(_spelled(keyword, rng) for keyword in _KEYWORDS), *examples, "x", "_", "\u00e9", "7",
        " ", "\t", "\n", "=", ":", "'", '"', "abcdefghijkl", "QWERTYUIOPAS", "/+.-~", "a" * 15,
        "_" * 21, "ghp_", "AKIA", "sk-", "https://", "@", "xoxb-",
    ]  # fmt: skip
    return "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20)))


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("db_password = 'Zq7wPlm3Xv9kTr'", "Zq7wPlm3Xv9kTr"),
        ("export DEPLOY_TOKEN=qW3eR5tY7uI9oP1a", "qW3eR5tY7uI9oP1a"),
        ("warehouse_reporting_service_api_key: k1m2n3b4v5c6x7z8", "k1m2n3b4v5c6x7z8"),
        ("token_for_staging_env = 'Lk2Jh4Gf6Ds8Aq0W'", "Lk2Jh4Gf6Ds8Aq0W"),
        ("curl 'https://files.test/get?access_key=Pm8Nb6Vc4Xz2Lk0J&v=1'", "Pm8Nb6Vc4Xz2Lk0J"),
        ('CLIENT-SECRET:\t"r4nd0m/Str1ng+Val.ue~"', "r4nd0m/Str1ng+Val.ue~"),
        ("\u017fmtp_\u017fecret = 'Tg5Hy6Ju7Ki8Lo9P'", "Tg5Hy6Ju7Ki8Lo9P"),
        ("private-key=AbCdEfGh12345678", "AbCdEfGh12345678"),
        ("AUTH:Xy12Zw34Vu56Ts78", "Xy12Zw34Vu56Ts78"),
    ],
)
def test_secret_assigned_to_a_telling_name_is_masked(text: str, secret: str) -> None:
    redacted = redact_text(text)

    assert secret not in redacted
    assert mask_secret(secret) in redacted


@pytest.mark.parametrize(
    "text",
    [
        "password = 'short1234'",  # under 12 characters: too short to be a credential
        "token_budget_for_each_request_window = 4096",  # value too short
        "the secret to a good report is a clear summary of findings",
        "tokenizer_vocabulary_size_in_thousands_for_models: abcdefghijklmnop",
    ],
)
def test_text_without_a_named_secret_is_left_as_it_is(text: str) -> None:
    assert redact_text(text) == text


def test_vendor_tokens_are_masked_without_a_telling_name() -> None:
    text = "use ghp_Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2 then AKIAQWERTYUIOPASDFGH"

    redacted = redact_text(text)

    assert redacted == "use ghp_*** then AKIA***"


def test_secret_at_the_end_of_a_large_text_is_masked() -> None:
    text = "x" * BIG + " pwd=Nn4Mm6Bb8Vv0Cc2X"

    redacted = redact_text(text)

    assert redacted == "x" * BIG + " pwd=Nn4M***"


def test_large_text_without_secrets_is_returned_unchanged() -> None:
    text = ("status token " * 9 + "\n") * (BIG // 120)

    assert redact_text(text) == text
    assert redact_text("x" * BIG) == "x" * BIG


def test_prefiltered_redaction_masks_what_the_former_one_masked() -> None:
    rng = _sample(20261204)
    texts = [_random_text(rng) for _ in range(3000)]

    differing = [t for t in texts if redact_text(t) != _former_named(_former_rules(t))]
    differing_rules = [t for t in texts if RULES.redact(t) != _former_rules(t)]

    assert differing == []
    assert differing_rules == []
    assert sum(redact_text(t) != t for t in texts) > 1000  # the sample does hold secrets


def test_secret_after_any_telling_name_is_masked_in_varied_text() -> None:
    rng = _sample(4041)
    cases = [_planted_secret(rng) for _ in range(2000)]

    leaked = [(text, value) for text, value in cases if value in redact_text(text)]
    unmasked = [(t, v) for t, v in cases if mask_secret(v) not in redact_text(t)]

    assert leaked == []
    assert unmasked == []


def test_every_secret_rule_example_is_masked_inside_other_text() -> None:
    rng = _sample(77)
    for rule in _SECRET_RULES:
        for example in rule.spec.examples.hit:
            secrets = [
                match.group("secret")
                for pattern in rule.patterns
                for match in pattern.finditer(example)
            ]
            text = f"{_noise(rng)}\n{example}\n{_noise(rng)}"

            redacted = redact_text(text)

            assert secrets, rule.id
            assert all(secret not in redacted for secret in secrets), rule.id
            assert all(mask_secret(secret) in redacted for secret in secrets), rule.id


def test_prefilter_folds_every_case_insensitive_equivalent() -> None:
    assert fold_case("AWS_\u017fECRET_ACCESS_KEY") == "aws_secret_access_key"
    assert fold_case("AP\u0130_KEY \u0131d") == "api_key id"
    assert fold_case("\u212aEY") == "key"
    assert len(fold_case("\u0130\u017f\u0131K abc")) == len("\u0130\u017f\u0131K abc")


def test_secret_rule_reached_only_through_case_folding_still_masks() -> None:
    text = "aws_\u017fecret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    redacted = RULES.redact(text)

    assert "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" not in redacted
    assert "wJal***" in redacted
