"""AST (+ comments) → canonical text: the layout of `csdsl fmt`.

The formatter prints the syntax tree back, one property per line, and places each
comment by its source line: an own-line comment before the node that follows it (at that
node's indentation), an end-of-line comment at the end of the printed line of the node it
trails, and a comment left at the end of a block or file where it was. A comment inside a
node that is printed on one line moves to its own line just before it, so nothing is lost.
Only layout changes: `parse(format(x)) == parse(x)` and the compiled spec is the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from csdsl import ast
from csdsl.diagnostics import Diagnostic

MAX_WIDTH = 100
INDENT = "  "
CONTINUATION = "    "

# Codes that mean the text does not parse as a whole (the parser then recovered).
# Errors after which the AST does not hold the whole text: formatting would lose some.
# (CS0106 replaces a too-deep condition by `false`.)
SYNTAX_ERRORS = frozenset({"CS0100", "CS0101", "CS0102", "CS0104", "CS0106", "CS0107"})


def format_text(path: str, text: str) -> tuple[str | None, list[Diagnostic]]:
    """Canonical text of one file, or None and the syntax errors when it does not parse."""
    from csdsl.syntax.parser import parse_text

    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    parsed, diagnostics = parse_text(path, text)
    syntax = [d for d in diagnostics if d.code in SYNTAX_ERRORS]
    if syntax:
        return None, syntax
    return format_file(parsed, text), []


def format_file(file: ast.File, source: str | None = None) -> str:
    """Print a parsed file; `source` is its text (blank lines, owner strings as written)."""
    printer = _Printer(source, file.comments)
    printer.file(file.decls)
    return printer.text()


def format_expr(expr: ast.Expr) -> str:
    """A condition on one line, with canonical spacing and the user's parentheses."""
    match expr:
        case ast.Literal():
            return expr.text
        case ast.NameRef():
            return expr.name.value
        case ast.Call():
            return f"{expr.func.value}({', '.join(format_expr(a) for a in expr.args)})"
        case ast.Compare() | ast.Arith():
            return f"{format_expr(expr.left)} {expr.op} {format_expr(expr.right)}"
        case ast.InList():
            word = "not in" if expr.negated else "in"
            values = ", ".join(v.text for v in expr.values)
            return f"{format_expr(expr.arg)} {word} ({values})"
        case ast.Trend():
            return (f"{expr.metric.value} {expr.direction} {expr.amount.text} "
                    f"over {expr.window.text}")
        case ast.NoActivity():
            return f"no {expr.name.value} for {expr.window.text}"
        case ast.EventWithin():
            text = f"event {expr.event.value} within {expr.window.text}"
            return text if expr.where is None else f"{text} where {format_expr(expr.where)}"
        case ast.BoolOp():
            return f" {expr.op} ".join(format_expr(a) for a in expr.args)
        case ast.Not():
            return f"not {format_expr(expr.arg)}"
        case ast.Neg():
            return f"-{format_expr(expr.arg)}"
        case ast.Paren():
            return f"({format_expr(expr.expr)})"
    raise TypeError(f"not an expression: {expr!r}")


def _quote(value: str) -> str:
    """A string literal for a decoded value (used when the source text is not at hand)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_Block = ast.Decl | ast.TaskDecl | ast.ObjectiveDecl


def _header_end(decl: _Block) -> int:
    """The source line of the last token before a declaration's `{`."""
    if isinstance(decl, ast.AccountDecl | ast.LimitDecl | ast.HolidaysDecl):
        return decl.span.line
    if isinstance(decl, ast.EnvironmentDecl):
        return decl.name.span.end_line
    title = decl.label if isinstance(decl, ast.MetricDecl | ast.EventDecl | ast.RoleDecl) \
        else decl.title
    return (title or decl.name).span.end_line


def _with_label(words: str, label: ast.Str | None) -> str:
    return words if label is None else f"{words} {label.raw}"


class _Printer:
    """Collects output lines, placing the comments by the source lines of the nodes."""

    def __init__(self, source: str | None, comments: Iterable[ast.Comment]) -> None:
        self.source_lines = source.split("\n") if source is not None else None
        self.source = source
        self.comments = deque(sorted(comments, key=lambda c: (c.line, c.column)))
        self.lines: list[str] = []
        self.last = 0  # the last source line printed so far
        self.blank_ok = False  # may a kept blank line come before the next line?
        self.force_blank = False  # must a blank line come before the next line?
        self.no_blanks = False  # inside a broken condition: never a blank line

    # -- output
    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def _had_blank(self, after: int, before: int) -> bool:
        """Did the source have a blank line strictly between these two lines?"""
        if self.source_lines is None:
            return False
        return any(not self.source_lines[i - 1].strip() for i in range(after + 1, before)
                   if 0 < i <= len(self.source_lines))

    def _put(self, indent: str, text: str, first: int, last: int, trailing: str | None = None
             ) -> None:
        blank = self.force_blank or (
            self.blank_ok and not self.no_blanks and self._had_blank(self.last, first)
        )
        if blank and self.lines:
            self.lines.append("")
        self.lines.append(indent + text + (f"  {trailing}" if trailing else ""))
        self.last = max(self.last, last)
        self.blank_ok = True
        self.force_blank = False

    def comments_before(self, indent: str, line: int) -> None:
        """Print, on their own lines, the comments that come before a source line."""
        while self.comments and self.comments[0].line < line:
            comment = self.comments.popleft()
            self._put(indent, comment.text, comment.line, comment.line)

    def line(self, indent: str, text: str, first: int, last: int) -> None:
        """Print one node that covers source lines first..last, with its comments."""
        self.comments_before(indent, first)
        trailing = None
        while self.comments and self.comments[0].line <= last:
            comment = self.comments.popleft()
            if comment.line < last or comment.own_line:  # inside the node: hoist it
                self._put(indent, comment.text, comment.line, comment.line)
            else:
                trailing = comment.text
        self._put(indent, text, first, last, trailing)

    def _comment_inside(self, first: int, last: int) -> bool:
        for comment in self.comments:  # sorted by line
            if comment.line >= last:
                return False
            if comment.line >= first:
                return True
        return False

    # -- declarations
    def file(self, decls: Sequence[ast.Decl]) -> None:
        previous_one_line = False
        for index, decl in enumerate(decls):
            one_line = self._is_one_line(decl)
            if index and not (one_line and previous_one_line):
                self.force_blank = True
            self.decl(decl)
            previous_one_line = one_line
        self.comments_before("", 1 << 62)

    def _is_one_line(self, decl: ast.Decl) -> bool:
        if isinstance(decl, ast.MetricDecl | ast.RoleDecl | ast.PoolDecl | ast.LimitDecl
                      | ast.HolidaysDecl):
            return True
        return isinstance(decl, ast.EventDecl) and self._braceless(decl, decl.fields)

    def _braceless(self, node: ast.EventDecl | ast.TaskDecl, members: tuple[object, ...]
                   ) -> bool:
        """An event or task with no members is written without braces (unless commented)."""
        if members:
            return False
        return not node.braces or not self._comment_inside(_header_end(node) + 1,
                                                            node.span.end_line)

    def decl(self, decl: ast.Decl) -> None:
        match decl:
            case ast.AccountDecl():
                self.block("", "account", decl, decl.fields)
            case ast.MetricDecl():
                text = _with_label(f"metric {decl.name.value}", decl.label)
                text += f" missing {decl.missing.text}" if decl.missing is not None else ""
                self.line("", text, decl.span.line, decl.span.end_line)
            case ast.PoolDecl():
                text = _with_label(f"pool {decl.name.value}", decl.title)
                self.line("", text, decl.span.line, decl.span.end_line)
            case ast.LimitDecl():
                text = f"limit {decl.kind} {decl.value.text}"
                self.line("", text, decl.span.line, decl.span.end_line)
            case ast.HolidaysDecl():
                self.line("", f"holidays {decl.region.raw}", decl.span.line, decl.span.end_line)
            case ast.RoleDecl():
                text = _with_label(f"role {decl.name.value}", decl.label)
                text += " external" if decl.external else ""
                self.line("", text, decl.span.line, decl.span.end_line)
            case ast.EventDecl():
                self.maybe_block("", _with_label(f"event {decl.name.value}", decl.label), decl,
                                 decl.fields)
            case ast.PlaybookDecl():
                header = _with_label(f"playbook {decl.name.value}", decl.title)
                self.block("", header, decl, decl.items)
            case ast.PlanDecl():
                self.block("", _with_label(f"plan {decl.name.value}", decl.title), decl,
                           decl.items)
            case ast.RuleDecl() | ast.EnvironmentDecl():
                self.member("", decl)
            case _:
                raise TypeError(f"not a declaration: {decl!r}")

    def maybe_block(self, indent: str, header: str, node: ast.EventDecl | ast.TaskDecl,
                    members: tuple[object, ...]) -> None:
        if self._braceless(node, members):
            self.line(indent, header, node.span.line, node.span.end_line)
        else:
            self.block(indent, header, node, members)

    def block(self, indent: str, header: str, node: _Block, members: Sequence[object]) -> None:
        span = node.span
        self.line(indent, header + " {", span.line, _header_end(node))
        self.blank_ok = False
        inner = indent + INDENT
        for member in members:
            self.member(inner, member)
        self.comments_before(inner, span.end_line)
        self.blank_ok = False
        self.line(indent, "}", span.end_line, span.end_line)

    def member(self, indent: str, member: object) -> None:
        match member:
            case ast.FieldDecl():
                text = f"{member.name.value}: {self.type_ref(member.type)}"
                self.line(indent, text, member.span.line, member.span.end_line)
            case ast.WordProp() | ast.TextProp() | ast.DaysProp() | ast.DueProp() | \
                    ast.DayProp() | ast.EnabledProp() | ast.ForProp() | ast.AfterProp() | \
                    ast.OwnerProp() | ast.MaxPerRunProp() | ast.ReopenProp() | ast.AtMostProp():
                self.line(indent, self.prop(member), member.span.line, member.span.end_line)
            case ast.Then():
                if member.kind == "cta":
                    assert member.title is not None
                    text = f"then cta {member.target.value} {member.title.raw}"
                else:
                    text = f"then plan {member.target.value}"
                self.line(indent, text, member.span.line, member.span.end_line)
            case ast.Condition():
                self.condition(indent, member)
            case ast.TaskDecl():
                header = _with_label(f"task {member.name.value}", member.title)
                self.maybe_block(indent, header, member, member.props)
            case ast.ObjectiveDecl():
                header = _with_label(f"objective {member.name.value}", member.title)
                self.block(indent, header, member, member.items)
            case ast.RuleDecl():  # at the top level, or an overlay in an environment
                header = _with_label(f"rule {member.name.value}", member.title)
                self.block(indent, header, member, member.items)
            case ast.EnvironmentDecl():
                self.block(indent, f"environment {member.name.value}", member, member.items)
            case _:
                raise TypeError(f"not a block member: {member!r}")

    # -- one-line pieces
    def type_ref(self, type_ref: ast.TypeRef) -> str:
        if type_ref.kind == "enum":
            return f"enum({', '.join(v.raw for v in type_ref.values)})"
        return type_ref.kind

    def owner(self, choice: ast.OwnerChoice) -> str:
        if choice.kind == "pool":
            return f"pool {choice.name}"
        if choice.kind == "user":
            span = choice.span
            written = self.source[span.start:span.end] if self.source is not None else ""
            if written.startswith('"') and written.endswith('"') and len(written) > 1:
                return written
            return _quote(choice.name)
        return choice.name

    def prop(self, prop: ast.Prop) -> str:
        match prop:
            case ast.MaxPerRunProp(value=count):
                return f"max {count.text} per run"
            case ast.ReopenProp(value=reopen):
                return f"reopen while {'true' if reopen else 'false'}"
            case ast.AtMostProp(times=times, every=every):
                return f"at most {times.text} every {every.text}"
            case ast.DueProp(value=days, calendar=calendar):
                return f"due {days.text}" + (f" {calendar.value}" if calendar else "")
            case ast.ForProp(value=names):
                words = ", ".join(n.value for n in names)
            case ast.AfterProp(value=refs):
                words = ", ".join(r.text for r in refs)
            case ast.OwnerProp(value=choices):
                words = " or ".join(self.owner(c) for c in choices)
            case ast.DayProp(value=day):
                words = str(day)
            case ast.EnabledProp(value=enabled):
                words = "true" if enabled else "false"
            case ast.WordProp(value=name):
                words = name.value
            case ast.TextProp(value=text):
                words = text.raw
            case ast.DaysProp(value=days):
                words = days.text
        return f"{prop.key} {words}"

    # -- conditions
    def condition(self, indent: str, cond: ast.Condition) -> None:
        if cond.key == "when":
            lead = "when "
        elif cond.key == "close":
            lead = "close when "
        else:
            assert cond.within is not None
            lead = f"success within {cond.within.text} when "
        first, last = cond.span.line, cond.span.end_line
        self.comments_before(indent, first)
        trailing = None
        if first == last and self.comments and self.comments[0].line == first:
            # a one-line condition that gets broken keeps its comment on its last line
            trailing = self.comments.popleft()
        self.condition_lines(indent, lead, cond.expr, first, last)
        self.no_blanks = False
        if trailing is not None:
            self.lines[-1] += f"  {trailing.text}"

    def condition_lines(self, indent: str, lead: str, expr: ast.Expr, first: int, last: int,
                        continuation: str | None = None) -> None:
        """Print `lead expr`; break before each top-level and/or when too long or commented.

        Continuation lines are indented 4 more; an and/or nested in a broken operand
        breaks 4 deeper still, so the indentation shows how the operators group.
        """
        text = lead + format_expr(expr)
        cont = indent + CONTINUATION if continuation is None else continuation
        # A comment inside the first operand moves before the whole line; one after it
        # (or inside a later operand) keeps the condition broken, so the layout is stable.
        if isinstance(expr, ast.BoolOp) and (
            len(indent) + len(text) > MAX_WIDTH
            or self._comment_inside(expr.args[0].span.end_line, last)
        ):
            deeper = cont + CONTINUATION
            for index, arg in enumerate(expr.args):
                if index == 0:
                    self.condition_lines(indent, lead, arg, first, arg.span.end_line, deeper)
                else:
                    self.no_blanks = True
                    self.condition_lines(cont, f"{expr.op} ", arg, arg.span.line,
                                         arg.span.end_line, deeper)
        else:
            self.line(indent, text, first, last)


__all__ = ["MAX_WIDTH", "format_expr", "format_file", "format_text"]
