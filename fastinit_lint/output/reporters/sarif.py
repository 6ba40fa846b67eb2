"""SARIF 2.1.0 for GitHub code scanning: rules with their docs as help, results with regions and fixes."""

from __future__ import annotations

import json
import os
from typing import Sequence
from urllib.parse import quote

from ... import __version__
from ...diagnostics import Finding, Location, Note

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _region(start: Location, end: Location) -> dict:
    return {"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column}


def _uri(filename: str) -> str:
    """A valid URI reference (SARIF requires one): the name's bytes percent-encoded, so a space, a newline
    or a byte that is not UTF-8 is spelled out rather than breaking the URI."""
    return quote(os.fsencode(filename.replace("\\", "/")), safe="/")


def _rule(rule) -> dict:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.docs()},
        "help": {"text": rule.docs(), "markdown": rule.docs()},
        "defaultConfiguration": {"level": "error"},
    }


def _result(finding: Finding, rule_index: dict[str, int]) -> dict:
    result: dict[str, object] = {
        "ruleId": finding.code,
        "level": "error",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(finding.filename)},
                    "region": _region(finding.location, finding.end_location),
                }
            }
        ],
    }
    if finding.code in rule_index:  # not for a file that could not be checked (`invalid-syntax`)
        result["ruleIndex"] = rule_index[finding.code]
    notes = finding.all_notes()
    if notes:
        result["relatedLocations"] = [_related(i, note) for i, note in enumerate(notes)]
    if finding.fix is not None:
        result["fixes"] = [
            {
                "description": {"text": f"{finding.fix.message} ({finding.fix.applicability})"},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": _uri(finding.filename)},
                        "replacements": [
                            {
                                "deletedRegion": _region(e.location, e.end_location),
                                "insertedContent": {"text": e.content},
                            }
                            for e in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def _related(index: int, note: Note) -> dict:
    location: dict = {"id": index, "message": {"text": note.message}}
    if note.filename and note.location:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _uri(note.filename)},
            "region": {"startLine": note.location.row, "startColumn": note.location.column},
        }
    return location


def render(findings: Sequence[Finding], *, rules: Sequence = (), **_: object) -> str:
    rule_list = sorted(rules, key=lambda r: r.code)
    rule_index = {rule.code: i for i, rule in enumerate(rule_list)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "fastinit-lint",
                        "version": __version__,
                        "rules": [_rule(rule) for rule in rule_list],
                    }
                },
                "results": [_result(f, rule_index) for f in findings],
                "columnKind": "unicodeCodePoints",  # our columns count characters; consumers otherwise may assume UTF-16
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
