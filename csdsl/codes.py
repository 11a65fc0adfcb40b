"""Every diagnostic code, with a one-line description (SARIF rules, docs, tests).

Codes are stable: once published a code keeps its meaning. specs/diagnostics.md shows
an example of each; tests/golden/diagnostics/ has one golden file per code.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "CS0001": "a spec file cannot be read (missing permission, not UTF-8)",
    "CS0100": "syntax error: an unexpected token",
    "CS0101": "syntax error: a character that starts no token",
    "CS0102": "syntax error: an unterminated string",
    "CS0103": "an unknown escape sequence in a string",
    "CS0104": "syntax error: the file ends in the middle of a declaration",
    "CS0105": "a date literal that is not a real date",
    "CS0106": "a condition that nests too deeply (more than 100 levels)",
    "CS0107": "syntax error: a block whose `}` is missing before the next declaration",
    "CS0200": "a name declared twice",
    "CS0201": "an unknown account field",
    "CS0202": "an unknown metric",
    "CS0203": "an unknown event",
    "CS0204": "an unknown role",
    "CS0205": "an unknown playbook",
    "CS0206": "an unknown success-plan template",
    "CS0207": "an unknown task in `after`",
    "CS0208": "an unknown objective in `after`",
    "CS0209": "an unknown function",
    "CS0210": "an unknown name in a condition",
    "CS0211": "an unknown field type",
    "CS0212": "an unknown value word (CTA type, task type, priority, calendar)",
    "CS0300": "values of different types compared, or an order on text or booleans",
    "CS0301": "a text that is not a value of the enum it is compared with",
    "CS0302": "an event used where a value or a metric is needed",
    "CS0303": "a metric used where an event is needed",
    "CS0304": "a function or form applied to the wrong kind of argument",
    "CS0305": "a condition that is not true or false",
    "CS0306": "arithmetic on something that is not a number",
    "CS0307": "a function called with the wrong number of arguments",
    "CS0308": "a window of zero days",
    "CS0309": "a number too large, or more than 36,500 days",
    "CS0400": "tasks or objectives that depend on each other in a cycle",
    "CS0401": "a playbook applied to a CTA type its `for` excludes",
    "CS0402": "a plan whose schedule ends after its `due` (warning)",
    "CS0500": "a template that does not parse",
    "CS0501": "a template that reads a name it may not read",
    "CS0502": "a template whose output or run time could grow without bound",
    "CS0600": "a playbook that is never used (warning)",
    "CS0601": "a role that is never used (warning)",
    "CS0700": "a rule without a `when` condition",
    "CS0701": "a property given twice",
    "CS0702": "a rule without a `then` action",
    "CS0703": "a rule that applies a playbook but opens no CTA",
}
