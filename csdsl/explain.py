"""`csdsl explain`: why a rule did or did not fire for an account.

From a spec and data, the reference interpreter traces the rule's conditions on the day
(`csdsl_runtime.explain`), each boolean line pointing at its source; from a stored CTA,
the trace it recorded when it was opened answers, however the data changed since.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from csdsl.diagnostics import did_you_mean
from csdsl.source import UsageError

__all__ = ["explain_account", "main"]


def main(args: argparse.Namespace) -> int:
    """The command: a CTA id alone reads the store; otherwise the spec and data."""
    if args.target.isdigit() and args.data is None:
        return _explain_cta(int(args.target), args.store, args.format)
    missing = [f"--{name.replace('asof', 'as-of')}" for name in ("data", "asof", "rule", "account")
               if getattr(args, name) is None]
    if missing:
        raise UsageError(f"explaining `{args.target}` needs {', '.join(missing)} "
                         "(or give the id of a stored CTA)")
    found = _compile(args.target)
    if found is None:
        return 1
    artifact, spans, places = found
    from csdsl_runtime.sources import SourceError, read_dataset

    try:
        dataset = read_dataset(args.data, artifact.schema_)
    except SourceError as exc:
        sys.stderr.write(f"csdsl: {exc}\n")
        return 1
    rules = {r.name: r for r in artifact.rules}
    if args.rule not in rules:
        hint = did_you_mean(args.rule, rules)
        raise UsageError(f"no rule `{args.rule}` in the spec"
                         + (f"; did you mean `{hint}`?" if hint else ""))
    account = dataset.accounts.get(args.account)
    if account is None:
        hint = did_you_mean(args.account, dataset.accounts)
        raise UsageError(f"no account `{args.account}` in `{args.data}`"
                         + (f"; did you mean `{hint}`?" if hint else ""))
    explained = explain_account(artifact, rules[args.rule], account, args.asof,
                                spans.get(args.rule))
    label = places.get(args.rule, "")
    if args.format == "json":
        sys.stdout.write(json.dumps(explained["json"], indent=2) + "\n")
    else:
        head = (f"{args.rule} for \"{args.account}\" as of {args.asof.isoformat()}: "
                f"{explained['verdict']}")
        sys.stdout.write(head + (f"  ({label})" if label else "") + "\n" + explained["text"])
    return 0


def explain_account(artifact: Any, rule: Any, account: Any, day: Any,
                    spans: dict[str, dict[tuple[int, ...], str]] | None = None
                    ) -> dict[str, Any]:
    """The traces of a rule's conditions for one account on a day: `text`, `json` and
    a one-line `verdict`."""
    from csdsl_runtime.explain import render, trace
    from csdsl_runtime.ir import missing_values

    missing = missing_values(artifact.schema_)
    parts = {"when": rule.when, "close when": rule.close_when,
             "success": rule.success.when if rule.success else None}
    keys = {"when": "when", "close when": "close", "success": "success"}
    text: list[str] = []
    body: dict[str, Any] = {"rule": rule.name, "account": account.id, "as_of": day.isoformat()}
    verdict = ""
    for title, node in parts.items():
        if node is None:
            continue
        traced = trace(node, account, day, missing)
        if title == "when":
            verdict = {True: "the condition is true: the rule fires",
                       False: "the condition is false: the rule does not fire",
                       None: "the condition is unknown: the rule does not fire"}[
                traced.value if traced.value is None else traced.value is True]
            if not rule.enabled:
                verdict += " (but the rule is disabled)"
            body["fires"] = traced.value is True and rule.enabled
        body[keys[title]] = traced.to_json()
        shown = render(traced, spans=(spans or {}).get(keys[title]))
        text.append(f"{title}:\n" + "".join(f"  {line}\n" for line in shown.splitlines()))
    return {"text": "".join(text), "json": body, "verdict": verdict}


_Spans = dict[str, dict[str, dict[tuple[int, ...], str]]]


def _compile(target: str) -> tuple[Any, _Spans, dict[str, str]] | None:
    """The artifact; per rule and part the `file:line` of each IR node; per rule where it
    is declared (none for a compiled artifact: it keeps no spans)."""
    path = Path(target)
    if path.is_file() and path.suffix == ".json":
        from csdsl_runtime.loader import ArtifactError, load

        try:
            return load(path), {}, {}
        except ArtifactError as exc:
            sys.stderr.write(f"csdsl: {exc}\n")
            return None
    from csdsl.cli import _report
    from csdsl.driver import build, check_paths

    result = check_paths([target])
    artifact = build(result)
    if artifact is None:
        _report(result, "text", "auto")
        return None
    assert result.model is not None
    spans: _Spans = {}
    for name, rule in result.model.rules.items():
        spans[name] = {part: {p: f"{s.file}:{s.line}" for p, s in c.spans().items()}
                       for part, c in rule.conditions().items()}
    places = {name: str(rule.span) for name, rule in result.model.rules.items()}
    return artifact, spans, places


def _explain_cta(cta_id: int, url: str | None, fmt: str) -> int:
    from csdsl_runtime.explain import Trace, render
    from csdsl_runtime.stores import DEFAULT_STORE_URL, open_store

    store_url = url or DEFAULT_STORE_URL
    if store_url.startswith("sqlite:///") and store_url != "sqlite:///:memory:" and \
            not Path(store_url.removeprefix("sqlite:///")).is_file():
        raise UsageError(f"no store at `{store_url}`")
    store = open_store(store_url)
    try:
        found = store.cta_evidence(cta_id)
    finally:
        store.close()
    if found is None:
        raise UsageError(f"no CTA {cta_id} in the store")
    cta, evidence = found
    if fmt == "json":
        sys.stdout.write(json.dumps({"cta": cta, "evidence": evidence}, indent=2) + "\n")
        return 0
    head = (f"CTA {cta_id}: {cta['rule']} for \"{cta['account_id']}\", opened "
            f"{cta['created']} ({cta['status']}{' ' + cta['outcome'] if cta['outcome'] else ''})")
    if evidence is None:
        sys.stdout.write(head + "\nno deciding values were kept for it: the run that "
                                "opened it had `--no-evidence`, or the store is older than "
                                "csdsl's keeping them\n")
        return 0
    text = render(Trace.from_json(evidence["when"]))
    spec = evidence["spec_hash"][:19]
    sys.stdout.write(f"{head}\nwhen, as of {evidence['as_of']} (spec {spec}):\n"
                     + "".join(f"  {line}\n" for line in text.splitlines()))
    return 0
