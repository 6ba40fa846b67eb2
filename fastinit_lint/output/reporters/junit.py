"""JUnit XML, one test case per finding grouped by file, for CI systems that only read test reports."""

from __future__ import annotations

from itertools import groupby
from typing import Sequence
from xml.etree import ElementTree as ET

from ...diagnostics import Finding
from .printable import printable


def render(findings: Sequence[Finding], **_: object) -> str:
    suites = ET.Element("testsuites", name="fastinit-lint", tests=str(len(findings)), failures=str(len(findings)))
    for filename, group in groupby(findings, key=lambda f: f.filename):
        filename, items = printable(filename), list(group)  # XML 1.0 cannot hold control characters at all
        suite = ET.SubElement(suites, "testsuite", name=filename, tests=str(len(items)), failures=str(len(items)))
        for f in items:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"{f.code} ({f.name})",
                classname=filename,
                line=str(f.location.row),
                column=str(f.location.column),
            )
            failure = ET.SubElement(case, "failure", message=printable(f.message), type=f.code)
            failure.text = f"{filename}:{f.location.row}:{f.location.column}: {f.code} {printable(f.message)}"
    if not findings:
        ET.SubElement(suites, "testsuite", name="fastinit-lint", tests="0", failures="0")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
