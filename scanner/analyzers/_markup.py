"""Find text that Markdown or HTML keeps out of sight: titles, alt text, hidden elements.

A reviewer reads the rendered page; an agent reads the source. These channels hold text
the rendered page shows only on hover, never, or behind a click:

- `link-title` and `image-title`: ``[x](https://a "title")`` and ``![x](a.png 'title')``;
- `reference-title`: the title of a reference-style link definition,
  ``[id]: https://a "title"`` (the definition itself never renders);
- `alt-text`: ``![alt](a.png)`` and ``alt="..."``, and HTML ``title="..."`` attributes;
- `css-hidden`: an element styled out of sight (``display:none``, ``visibility:hidden``,
  zero font size or opacity, white text) or carrying the ``hidden`` attribute;
- `details`: the collapsed body of a ``<details>`` block (visible after a click).

HTML comments are left to the signature rules (`hidden.*`), which read the comment
region of Markdown outside code: a comment inside a code fence is shown, not hidden.
Every pattern is bounded, and at most `MAX_CHANNELS` channels are returned per file.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass

MAX_CHANNELS = 200
MAX_CHANNEL_CHARS = 4000

_TITLE = r"""(?:"(?P<dq>[^"\n]{1,2000})"|'(?P<sq>[^'\n]{1,2000})'|\((?P<pq>[^()\n]{1,2000})\))"""
_LINK_TITLE = re.compile(
    r"(?P<bang>!?)\[[^\[\]\n]{0,300}\]\(\s*<?[^\s()<>]{0,2000}>?\s+" + _TITLE + r"\s*\)"
)
_REFERENCE_TITLE = re.compile(
    r"^[ \t]{0,3}\[[^\]\n]{1,200}\]:[ \t]*<?\S{1,2000}>?[ \t]+" + _TITLE + r"[ \t]*$",
    re.MULTILINE,
)
_ALT_TEXT = re.compile(r"!\[(?P<alt>[^\[\]\n]{1,1000})\]\(")
_ATTRIBUTE = re.compile(
    r"""<[a-zA-Z][^<>]{0,2000}?\b(?:alt|title|aria-label)\s*=\s*(?:"(?P<dq>[^"]{1,2000})"|'(?P<sq>[^']{1,2000})')"""
)
_HIDDEN_STYLE = (
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])"
    r"|opacity\s*:\s*0(?:\.0+)?(?![.\d])|(?<![-\w])color\s*:\s*(?:#fff(?:fff)?\b|white\b)"
)
_HIDDEN_ELEMENT = re.compile(
    r"<(?P<tag>span|div|p|section|small|font|aside|td|li|em|strong)\b(?P<attrs>[^<>]{0,2000})>"
    r"(?P<body>[^<]{1,4000}?)</(?P=tag)>",
    re.IGNORECASE,
)
_HIDDEN_ATTRS = re.compile(
    rf"style\s*=\s*[\"'][^\"']*(?:{_HIDDEN_STYLE})|\shidden\b", re.IGNORECASE
)
_DETAILS_OPEN = re.compile(r"<details\b[^<>]{0,400}>", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)
MAX_DETAILS_CHARS = 20000
_SUMMARY = re.compile(r"<summary\b[^>]{0,400}>.{0,2000}?</summary>", re.I | re.S)
_TAG = re.compile(r"<[^<>]{0,2000}>")


@dataclass(frozen=True)
class Channel:
    """Text hidden in markup: which channel, where it starts, and the text itself."""

    kind: str
    start: int
    text: str


def hidden_channels(text: str) -> list[Channel]:
    """Return the hidden channels of a Markdown or HTML text, in document order."""
    found = [
        Channel("image-title" if m.group("bang") else "link-title", m.start(), _title(m))
        for m in _LINK_TITLE.finditer(text)
    ]
    found += [
        Channel("reference-title", m.start(), _title(m)) for m in _REFERENCE_TITLE.finditer(text)
    ]
    found += [Channel("alt-text", m.start(), m.group("alt")) for m in _ALT_TEXT.finditer(text)]
    found += [
        Channel("alt-text", m.start(), m.group("dq") or m.group("sq"))
        for m in _ATTRIBUTE.finditer(text)
    ]
    found += [
        Channel("css-hidden", m.start(), m.group("body"))
        for m in _HIDDEN_ELEMENT.finditer(text)
        if _HIDDEN_ATTRS.search(m.group("attrs"))
    ]
    found += _details(text)
    found.sort(key=lambda channel: channel.start)
    return [_clean(channel) for channel in found[:MAX_CHANNELS]]


def _details(text: str) -> list[Channel]:
    """Return the bodies of `<details>` blocks, each up to its first closing tag."""
    # SECURITY: closing tags are found once and looked up by bisection, so a text of many
    # unclosed openings costs one pass instead of one scan per opening.
    closes = [m.start() for m in _DETAILS_CLOSE.finditer(text)]
    found: list[Channel] = []
    for match in _DETAILS_OPEN.finditer(text):
        index = bisect.bisect_left(closes, match.end())
        if index == len(closes) or len(found) >= MAX_CHANNELS:
            break
        body = text[match.end() : closes[index]]
        if len(body) <= MAX_DETAILS_CHARS:
            found.append(Channel("details", match.end(), _TAG.sub(" ", _SUMMARY.sub(" ", body))))
    return found


def _title(match: re.Match[str]) -> str:
    return match.group("dq") or match.group("sq") or match.group("pq") or ""


def _clean(channel: Channel) -> Channel:
    text = " ".join(html.unescape(channel.text).split())[:MAX_CHANNEL_CHARS]
    return Channel(channel.kind, channel.start, text)
