"""Which service a credential is named after, and whether a host belongs to it.

`GITHUB_TOKEN` is GitHub's; `api.github.com` and `raw.githubusercontent.com` are GitHub's
hosts, `github-stats.example.net` is not. Every analyzer that asks whether a secret goes
to its own vendor asks here, so that the Python checks, the shell checks and the
behavioral judge agree.
"""

from __future__ import annotations

from collections.abc import Iterable

# First words of a variable name that name no service (`API_KEY`, `CLIENT_SECRET`).
_GENERIC = frozenset(
    {"api", "secret", "token", "access", "auth", "app", "my", "user", "private", "client",
     "session", "password", "key"}
)  # fmt: skip
# Variable prefixes whose service's hosts carry another name.
_ALIASES = {
    "gh": "github",
    "aws": "amazonaws",
    "gcp": "google",
    "gemini": "google",
    "hf": "huggingface",
    "az": "azure",
    "claude": "anthropic",
    "npm": "npmjs",
}
# What a vendor's own domain label may add to its name (`googleapis`, `discordapp`).
_SUFFIXES = frozenset({"api", "apis", "app", "usercontent", "cdn", "static", "hq", "io"})
MIN_VENDOR = 3


def vendor_of(name: str) -> str | None:
    """Return the service a variable is named after (`GITHUB_TOKEN` -> `github`), or None."""
    word = name.strip().lower().split("_", 1)[0]
    if word in _GENERIC:
        return None
    vendor = _ALIASES.get(word, word)
    return vendor if len(vendor) >= MIN_VENDOR else None


def is_vendor_host(vendor: str, host: str) -> bool:
    """Return True when one label of `host` is the vendor's name (`api.notion.com`).

    The label may add a usual suffix (`googleapis`, `discordapp`, `githubusercontent`);
    a vendor's name inside a longer label (`notion-export-analytics.com`) is another
    party's domain.
    """
    for label in host.lower().rstrip(".").split(".")[:-1]:
        if label == vendor or (label.startswith(vendor) and label[len(vendor) :] in _SUFFIXES):
            return True
    return False


# Cloud SDK calls (method or dotted names) that hand out the credentials they hold, as the
# variable each stands for, so a vendor's own host is judged as for that variable.
SDK_CREDENTIALS = {
    "get_frozen_credentials": "AWS_SECRET_ACCESS_KEY",
    "get_credentials": "AWS_SECRET_ACCESS_KEY",
    "get_session_token": "AWS_SESSION_TOKEN",
    "get_secret_value": "AWS_SECRETSMANAGER_SECRET",
    "google.auth.default": "GOOGLE_APPLICATION_CREDENTIALS",
}
# The modules whose import makes those names the SDK's calls: `get_credentials` alone is
# a common method name of other libraries.
_SDK_MODULES = {
    "AWS": frozenset({"boto3", "botocore", "aiobotocore"}),
    "GOOGLE": frozenset({"google"}),
}


def sdk_secret(names: Iterable[str], imported: Iterable[str]) -> str | None:
    """Return the variable an SDK credential call stands for, if its SDK is imported.

    `names` are the call's spellings (its method, its dotted name); `imported` the top-level
    modules the file imports.
    """
    modules = set(imported)
    for name in names:
        variable = SDK_CREDENTIALS.get(name)
        if variable is not None and _SDK_MODULES[variable.split("_", 1)[0]] & modules:
            return variable
    return None
