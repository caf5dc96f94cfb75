"""A plain-text table of a scan result, for terminals."""

from __future__ import annotations

from scanner.core.models import ScanResult

_WIDTHS = (9, 34, 28)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(result: ScanResult) -> str:
    """Return the verdict, the findings as a table and any failed analyzer."""
    verdict = "SAFE" if result.is_safe else "UNSAFE"
    top = result.max_severity.value if result.max_severity else "none"
    lines = [
        f"{result.skill_name}: {verdict} (policy {result.policy}, max severity {top}, "
        f"{result.findings_count} finding{'' if result.findings_count == 1 else 's'}, "
        f"{result.scan_duration_seconds:.3f} s)",
    ]
    if result.findings:
        header = ("SEVERITY", "RULE", "LOCATION", "TITLE")
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, (*_WIDTHS, 0), strict=True)))
        for f in result.findings:
            where = f.file_path or "-"
            if f.line_number:
                where += f":{f.line_number}"
            row = (
                f.severity.value,
                _clip(f.rule_id, _WIDTHS[1]),
                _clip(where, _WIDTHS[2]),
                f.title,
            )
            lines.append(
                "  ".join(c.ljust(w) for c, w in zip(row, (*_WIDTHS, 0), strict=True)).rstrip()
            )
    lines.extend(
        f"analyzer {run.analyzer} failed: {run.code} ({run.message})"
        for run in result.analyzers_failed
    )
    return "\n".join(lines)
