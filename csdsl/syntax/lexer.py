"""A faster stand-in for lark's contextual lexer: the same tokens, less Python per token.

lark's lexer spends most of a parse in Python bookkeeping: one match for each run of
blanks or a comment, one for the token, a line counter fed character by character,
keyword callbacks. This lexer asks lark to build the very same per-state scanners
(`BasicLexer`, with its keyword handling), then matches blanks, comments and the next
token with one regex and counts lines with `str.count`. Tokens carry the same types,
values and positions as lark's.

It is only used on the happy path: on anything it cannot decide (text no terminal
matches, a lark feature it does not copy), it raises `Fallback` and the caller parses
the file again with lark's own lexer, which then reports syntax errors exactly as it
always did. tests/test_lexer.py holds the two lexers to the same ASTs and spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import copy
from typing import Any

from lark import Token
from lark.lexer import BasicLexer, Lexer, PatternStr, UnlessCallback


class Fallback(Exception):
    """The fast lexer cannot tokenise this text the way lark would: use lark's lexer."""


class NoMatch(Fallback):
    """No terminal matches here: a syntax error, which lark's lexer reports."""


_Entry = tuple["re.Pattern[str]", dict[str, dict[str, str]], frozenset[str], frozenset[str]]


class FastContextualLexer(Lexer):
    """Contextual lexing (terminals allowed by the parser state) with one match per token."""

    __future_interface__ = 2  # lark passes (lexer_state, parser_state) to `lex`

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        by_name = conf.terminals_by_name
        ignored = "|".join(by_name[name].pattern.to_regexp() for name in conf.ignore)
        # possessive: a comment is never given back to let a token match inside it
        # (`# at rule` at the end of a text is all comment, as lark's lexer reads it)
        self.skip = f"(?:{ignored})*+" if ignored else ""
        self.skip_re = re.compile(self.skip, conf.g_regex_flags)
        self.by_state: dict[int, _Entry] = {}
        self.by_accepts: dict[frozenset[str], _Entry] = {}

    def _entry(self, accepts: frozenset[str]) -> _Entry:
        """What lark's ContextualLexer builds for a state, as one regex and keyword maps."""
        entry = self.by_accepts.get(accepts)
        if entry is not None:
            return entry
        conf = copy(self.conf)
        by_name = conf.terminals_by_name
        conf.terminals = [by_name[n] for n in accepts | set(conf.ignore) if n in by_name]
        conf.skip_validation = True
        basic = BasicLexer(conf)
        scanner = basic.scanner  # builds the callbacks too
        if len(scanner._mres) != 1 or conf.callbacks:
            raise Fallback("lark split this scanner or has user callbacks")
        keywords: dict[str, dict[str, str]] = {}
        for type_, callback in basic.callback.items():
            if not isinstance(callback, UnlessCallback):
                raise Fallback(f"a callback for {type_}")
            words: dict[str, str] = {}
            for terminal in callback.scanner.terminals:
                pattern = terminal.pattern
                if not isinstance(pattern, PatternStr) or pattern.flags:
                    raise Fallback(f"keyword {terminal.name} is not a plain string")
                words[pattern.value] = terminal.name
            keywords[type_] = words
        regex = re.compile(f"{self.skip}(?:{scanner._mres[0].pattern})", conf.g_regex_flags)
        entry = (regex, keywords, basic.ignore_types, basic.newline_types)
        self.by_accepts[accepts] = entry
        return entry

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:
        text_slice = lexer_state.text
        text: str = text_slice.text
        pos: int = text_slice.start
        end: int = text_slice.end
        if pos != 0 or lexer_state.line_ctr.char_pos != 0:
            raise Fallback("a text slice")
        states = parser_state.parse_conf.parse_table.states
        stack = parser_state.state_stack
        by_state = self.by_state
        count, rfind = text.count, text.rfind
        line, line_start = 1, 0
        while pos < end:
            state = stack[-1]
            entry = by_state.get(state)
            if entry is None:
                entry = by_state[state] = self._entry(frozenset(states[state]))
            regex, keywords, ignore, newline_types = entry
            found = regex.match(text, pos, end)
            if found is None:
                blank = self.skip_re.match(text, pos, end)
                if blank is not None and blank.end() == end:
                    return
                raise NoMatch("no terminal matches here")
            type_ = found.lastgroup
            assert type_ is not None
            if type_ in ignore:  # only blanks and comments were left
                if found.end() == end:
                    return
                raise NoMatch("no terminal matches here")
            start, stop = found.span(type_)
            if start > pos:
                newlines = count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = rfind("\n", pos, start) + 1
            value = found.group(type_)
            words = keywords.get(type_)
            if words is not None:
                type_ = words.get(value, type_)
            column = start - line_start + 1
            if type_ in newline_types and "\n" in value:
                end_line = line + value.count("\n")
                end_line_start = start + value.rfind("\n") + 1
                token = Token(type_, value, start, line, column, end_line,
                              stop - end_line_start + 1, stop)
                line, line_start = end_line, end_line_start
            else:
                token = Token(type_, value, start, line, column, line, column + stop - start,
                              stop)
            yield token
            pos = stop
