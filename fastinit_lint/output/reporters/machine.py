"""JSON and JSON Lines: the stable contract other tools parse (field set mirrors ruff's)."""

from __future__ import annotations

import json
from typing import Sequence

from ...diagnostics import Finding, Location


def _location(location: Location) -> dict:
    return {"row": location.row, "column": location.column}


def finding_dict(finding: Finding) -> dict:
    fix = None
    if finding.fix is not None:
        fix = {
            "applicability": finding.fix.applicability,
            "message": finding.fix.message,
            "edits": [
                {"content": e.content, "location": _location(e.location), "end_location": _location(e.end_location)}
                for e in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "filename": finding.filename,
        "location": _location(finding.location),
        "end_location": _location(finding.end_location),
        "fix": fix,
        "notes": [
            {"message": n.message, "filename": n.filename, "location": n.location and _location(n.location)}
            for n in finding.all_notes()
        ],
    }


def json_array(findings: Sequence[Finding], **_: object) -> str:
    return json.dumps([finding_dict(f) for f in findings], indent=2) + "\n"


def json_lines(findings: Sequence[Finding], **_: object) -> str:
    return "".join(json.dumps(finding_dict(f)) + "\n" for f in findings)
