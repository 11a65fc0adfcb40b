"""How a test run reads: text for people, JSON for scripts, JUnit XML for CI dashboards.

A failure is shown where it is written (`file:line:col`, as compilers do, so editors
jump to it) with a structural diff: each checked field expected and found, then the
CTAs the account has instead, with their fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from csdsl.spectest.coverage import Coverage
from csdsl.spectest.model import SpecTest
from csdsl.spectest.run import Failure, SuiteResult, TestResult, by_file, shown

__all__ = ["render_coverage", "render_json", "render_junit", "render_text", "summary_line"]

_SHOWN_CTAS = 5


def summary_line(result: SuiteResult, errored: int = 0) -> str:
    """The last line of a text run: `N passed, N failed` (tests with errors failed)."""
    return f"{result.passed} passed, {result.failed + errored} failed"


def _cta_line(cta: dict[str, Any]) -> str:
    status = cta["status"] if cta.get("outcome") is None else f"{cta['status']} {cta['outcome']}"
    parts = [f"#{cta['id']}", cta["rule"], status, cta["type"], cta["priority"],
             f'"{cta["title"]}"', f"owner {cta['owner'] or 'none'}", f"due {cta['due']}",
             f"tasks {len(cta['tasks'])}"]
    if cta.get("plan"):
        parts.append(f"plan {cta['plan']}")
    return "  ".join(parts)


def _task_lines(cta: dict[str, Any], keys: Iterable[str]) -> list[str]:
    wanted = set(keys)
    return [f"        task {t['key']}: owner {t['owner'] or 'none'}  start {t['start']}  "
            f"due {t['due']}  {t['status']}" for t in cta["tasks"] if t["key"] in wanted]


def _ctas(title: str, ctas: Sequence[dict[str, Any]], task_keys: Iterable[str] = ()
          ) -> list[str]:
    if not ctas:
        return []
    keys = list(task_keys)
    lines = [f"    {title}:"]
    for cta in ctas[:_SHOWN_CTAS]:
        lines.append(f"      {_cta_line(cta)}")
        lines.extend(_task_lines(cta, keys))
    if len(ctas) > _SHOWN_CTAS:
        lines.append(f"      ... and {len(ctas) - _SHOWN_CTAS} more")
    return lines


def _failure_lines(failure: Failure) -> list[str]:
    lines = [f"  {failure.span}: {failure.message}"]
    if failure.differences:
        width = max(len(d.attribute) for d in failure.differences)
        pairs = [d.shown() for d in failure.differences]
        column = max(8, *(len(e) for e, _ in pairs))
        lines.append(f"    {'':{width}}  {'expected':{column}}  actual")
        for d, (expected, actual) in zip(failure.differences, pairs, strict=True):
            lines.append(f"    {d.attribute:{width}}  {expected:{column}}  {actual}")
    elif failure.expected:
        lines.append("    expected: " + "  ".join(
            f"{k} {shown(k.rsplit('.', 1)[-1], v)}" for k, v in failure.expected.items()))
    tasks = {k.split(".", 1)[0] for k in failure.expected if "." in k}
    found = "found" if failure.differences or not failure.expected else "open"
    lines += _ctas(f"{found} CTA{'s' if len(failure.candidates) != 1 else ''} of the rule",
                   failure.candidates, tasks)
    lines += _ctas("the account's other CTAs", failure.others)
    return lines


def render_text(result: SuiteResult, verbose: bool = False) -> str:
    """A line per test file with its counts, each failure in full under it; with
    `verbose`, a line per passing test too."""
    out: list[str] = []
    for file, results in by_file(result.results).items():
        failed = sum(not r.passed for r in results)
        out.append(f"{file}: {len(results) - failed} passed"
                   + (f", {failed} failed" if failed else ""))
        for r in results:
            if r.passed:
                if verbose:
                    out.append(f"  ok    {r.test.name} ({_ms(r)})")
                continue
            out.append(f"FAIL  {r.test.span}: {r.test.name}")
            for failure in r.failures:
                out.extend(_failure_lines(failure))
    return "\n".join(out) + ("\n" if out else "")


def _ms(r: TestResult) -> str:
    return f"{r.seconds * 1000:.0f} ms"


def render_coverage(coverage: Coverage) -> str:
    """The coverage summary, then what no test reached, with source positions."""
    fired = sum(coverage.rules.values())
    seen = coverage.covered - fired
    lines = [f"coverage: {coverage.percent:.1f}% ({coverage.covered} of {coverage.total}: "
             f"{fired} of {len(coverage.rules)} rules fired, {seen} of "
             f"{2 * len(coverage.atoms)} condition outcomes seen)"]
    never = [name for name, did in coverage.rules.items() if not did]
    if never:
        lines.append("rules no test fired:")
        lines += [f"  {coverage.spans[name]}: {name}" for name in never]
    partial = [a for a in coverage.atoms if not a.covered]
    if partial:
        lines.append("conditions not seen both true and false:")
        for a in partial:
            seen_as = [w for w, v in (("true", True), ("false", False), ("unknown", None))
                       if v in a.seen]
            missing = [w for w, v in (("true", True), ("false", False)) if v not in a.seen]
            got = f"seen {', '.join(seen_as)}" if seen_as else "never evaluated"
            lines.append(f"  {a.span}: {a.rule} {a.part} `{a.text}`: {got}; never "
                         f"{' or '.join(missing)}")
    if coverage.disabled:
        lines.append("disabled rules (not counted): " + ", ".join(coverage.disabled))
    return "\n".join(lines) + "\n"


def _test_json(r: TestResult) -> dict[str, Any]:
    return {"name": r.test.name, "file": r.test.file, "line": r.test.span.line,
            "status": "passed" if r.passed else "failed", "seconds": round(r.seconds, 4),
            "runs": r.runs, "expectations": r.expectations,
            "failures": [f.to_json() for f in r.failures]}


def render_json(result: SuiteResult, diagnostics: list[dict[str, Any]],
                coverage: Coverage | None, errored: int = 0,
                rejected: Sequence[SpecTest] = (),
                threshold: tuple[float, bool] | None = None) -> str:
    """The run as one object: counts, each test (those held back by errors with status
    `error`), the diagnostics, coverage, and whether it met `--threshold`."""
    tests = [_test_json(r) for r in result.results] + [
        {"name": t.name, "file": t.file, "line": t.span.line, "status": "error",
         "seconds": 0, "runs": 0, "expectations": 0, "failures": []} for t in rejected]
    body: dict[str, Any] = {
        "passed": result.passed, "failed": result.failed + errored,
        "seconds": round(result.seconds, 3),
        "tests": sorted(tests, key=lambda t: (t["file"], t["line"])),
        "diagnostics": diagnostics,
    }
    if coverage is not None:
        body["coverage"] = coverage.to_json()
    if threshold is not None:
        body["threshold"] = {"percent": threshold[0], "met": not threshold[1]}
    return json.dumps(body, indent=2) + "\n"


def render_junit(result: SuiteResult, errors: Sequence[str] = ()) -> str:
    """JUnit XML (the Ant/Surefire shape CI dashboards read): a suite per test file;
    spec or test-file errors as one errored case, so a dashboard shows them."""
    root = ET.Element("testsuites", name="csdsl", tests=str(len(result.results) + len(errors)),
                      failures=str(result.failed), errors=str(len(errors)),
                      time=f"{result.seconds:.3f}")
    for file, results in by_file(result.results).items():
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(results)),
                              failures=str(sum(not r.passed for r in results)), errors="0",
                              time=f"{sum(r.seconds for r in results):.3f}")
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=file, name=r.test.name,
                                 file=file, line=str(r.test.span.line), time=f"{r.seconds:.3f}")
            if not r.passed:
                failure = ET.SubElement(case, "failure", message=r.failures[0].message,
                                        type="expectation")
                failure.text = "\n".join(line for f in r.failures for line in _failure_lines(f))
    if errors:
        suite = ET.SubElement(root, "testsuite", name="csdsl check", tests=str(len(errors)),
                              failures="0", errors=str(len(errors)), time="0")
        for text in errors:
            case = ET.SubElement(suite, "testcase", classname="csdsl check",
                                 name=text.splitlines()[0])
            ET.SubElement(case, "error", message=text.splitlines()[0]).text = text
    for element in root.iter():
        element.text = _xml_text(element.text)
        for key, value in element.attrib.items():
            element.attrib[key] = _xml_text(value) or ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot hold, even escaped (a control character in a name)."""


def _xml_text(text: str | None) -> str | None:
    if text is None:
        return None
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
