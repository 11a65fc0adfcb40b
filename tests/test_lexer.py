"""The fast lexer gives the parser exactly what lark's contextual lexer gives it.

Each text is parsed twice, once through `csdsl.syntax.lexer.FastContextualLexer` and once
through lark's own lexer, and the outcomes must be identical: the same AST, the same
spans, the same diagnostics, or the same syntax error at the same place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csdsl.source import SourceFile
from csdsl.syntax import parser as P
from tests.test_spans import spans_of

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("examples/spec/*.cs"), *ROOT.glob("tests/golden/*/*.cs")])


def _outcome(text: str, fast: bool) -> tuple[Any, ...]:
    source = SourceFile.of("a.cs", text)
    try:
        try:
            decls, diagnostics = P._parse_once(source, fast=fast)
        except P.Fallback:  # the fast lexer declined: what the parser then does
            decls, diagnostics = P._parse_once(source, fast=False)
    except P.UnexpectedInput as exc:
        return ("error", type(exc).__name__, getattr(exc, "pos_in_stream", None),
                str(getattr(exc, "token", "")))
    return decls, list(spans_of(decls)), [(d.code, d.span, d.message) for d in diagnostics]


def _same(text: str) -> None:
    assert _outcome(text, fast=True) == _outcome(text, fast=False)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_outcome_on_every_spec_file(path: Path) -> None:
    _same(path.read_bytes().decode("utf-8", errors="replace"))


def test_the_fast_lexer_is_used_on_valid_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "examples" / "spec" / "rules_risk.cs").read_text(encoding="utf-8")
    monkeypatch.setattr(P, "_parser", lambda: pytest.fail("fell back to lark's lexer"))
    parsed, _ = P.parse_source(SourceFile.of("a.cs", text))
    assert len(parsed.decls) > 5


def test_no_fallbacks_on_the_examples_and_goldens() -> None:
    """Every file that parses goes through the fast lexer alone: a lark upgrade that
    broke it would show here as fallbacks, not as a silent slowdown."""
    stats = P.ParseStats()
    clean = 0
    for path in FILES:
        text = path.read_bytes().decode("utf-8", errors="replace")
        _, diagnostics = P.parse_source(SourceFile.of(path.name, text), stats)
        clean += not any(d.code in ("CS0100", "CS0101", "CS0102", "CS0104", "CS0107")
                         for d in diagnostics)
    assert stats.files == len(FILES) and clean > 50
    assert stats.fallbacks == []
    assert stats.recovered == len(FILES) - clean


# The new forms, and their words where names stand (the contextual lexer must keep them
# names there, in both lexers).
CONTEXTUAL_TEXTS = [
    'pool Support "Support engineers"\npool Desk\n',
    "limit new ctas per run 2000000\nlimit open ctas per owner 50\n",
    'metric logins "Daily logins" missing 0\nmetric usage missing 2.5\nmetric missing\n',
    "account { open: number  run: text  max: number  limit: date  missing: bool }\n"
    "metric per\nmetric at missing 1\nrole every\npool most\n",
    'rule run "r" {\n  when max(open, 7d) > run and at == most\n  then cta risk "x"\n'
    "  owner pool most or every\n  max 500 per run\n  reopen while true\n"
    "  at most 2 every 90d\n}\n",
    "rule r { when x > 1 max 1 per run at most 1 every 1d reopen while false }",
    "rule r { when new > 1  then cta risk \"x\"  max 2.5 per run }",
    "metric m missing -1",  # a syntax error: NUMBER has no sign
    "limit new ctas per run",  # ends early
    "rule r { max per run }",
    # the dates: `holidays`, a rule's `due D business`, a playbook's `on change`
    'holidays "US-CA"\nholidays "DE"\n',
    "account { holidays: text  on: number  change: bool  business: text }\n"
    "metric on\nrole change\npool holidays\n",
    'rule r {\n  when on > change and holidays == "x"\n  then cta risk "x"\n'
    "  due 10d business\n  max 2 per run\n}\nrule s { due 2w calendar  when x }\n"
    "rule t { due 3d  owner CSM }\n",
    "playbook P {\n  on change append\n  task on { day 1 }\n  task change\n"
    "  on change replace\n}\n",
    "playbook P { on change }",  # a syntax error: the policy is missing
    "playbook P { on append }",
    'holidays US\n',  # not a string
    "rule r { due business }",
    "rule r { when x  due 10d business business }",
    "account {\n  arr: number\nholidays \"US\"\n",  # the `}` is missing
]


@pytest.mark.parametrize("text", CONTEXTUAL_TEXTS)
def test_same_outcome_on_the_contextual_words(text: str) -> None:
    _same(text)


def test_generated_large_spec(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from gen_spec import generate

    generate(tmp_path, rules=200, playbooks=20, plans=5, files=3)
    for path in sorted(tmp_path.glob("*.cs")):
        _same(path.read_text(encoding="utf-8"))


# Token soup: pieces of the language in random order, so that most texts are wrong in
# some way and the two lexers meet keywords where names are expected, numbers of every
# shape, unterminated strings, comments and characters no terminal matches.
_PIECES = [
    "rule", "r1", "playbook", "P", "plan", "task", "objective", "when", "then", "cta",
    "risk", "owner", "or", "and", "not", "in", "no", "for", "over", "drops", "rises",
    "event", "within", "where", "true", "false", "trueish", "external", "externals",
    "day", "duration", "after", "a.b", "30d", "4w", "30%", "1.5%", "12", "12.5", "1.",
    "2026-11-20", "2026-11-20x", "12d5", '"text"', '"a \\" b"', '"open', "{", "}", "(",
    ")", ",", ":", ".", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "@", "%",
    "# note\n", "\n", " ", "\t", "\r\n", "account", "metric", "role", "enum", "pool",
    "usage", "avg(usage, 7d)", "segment", "{{ account.name }}", "é", "_x",
    # the contextual words: keywords only where the grammar expects them
    "limit", "new", "ctas", "per", "run", "open", "max", "max(usage, 7d)", "reopen", "while",
    "at", "most", "every", "missing", "limit new ctas per run 10", "max 5 per run",
    "at most 2 every 90d", "reopen while true", "missing 0",
    "holidays", "on", "change", "business", 'holidays "US-CA"', "due 10d business",
    "on change append", "due 4w calendar",
]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map(" ".join))
def test_same_outcome_on_token_soup(text: str) -> None:
    _same(text)


@st.composite
def _spliced(draw: st.DrawFn) -> str:
    """An example file with a random slice replaced by a piece: mostly near-valid text."""
    text = draw(st.sampled_from([p.read_text(encoding="utf-8") for p in FILES[:6]]))
    start = draw(st.integers(0, len(text)))
    stop = draw(st.integers(start, min(len(text), start + 12)))
    return text[:start] + draw(st.sampled_from(_PIECES)) + text[stop:]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_spliced())
def test_same_outcome_on_spliced_examples(text: str) -> None:
    _same(text)


@pytest.mark.parametrize("text", [
    "role A\n# rule",  # a keyword at the end of a last comment
    "role A external  # our main contact at trule",
    "role A  # rule\n",
])
def test_a_comment_at_the_end_is_never_split_into_a_token(text: str) -> None:
    """Found by hypothesis: the skip of blanks and comments gave back the tail of a
    comment at the end of the text, so that `rule` in it lexed as a keyword."""
    _same(text)
    assert _outcome(text, fast=True)[0] != "error"
