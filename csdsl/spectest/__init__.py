"""Spec tests: `.cstest` files that say "given this data, expect this CTA".

`syntax` parses a test file into `model` nodes; `check` holds them against the spec's
`SpecModel` (unknown rules, fields, roles, tasks, fixtures: diagnostics with a
did-you-mean); `run` executes the checked tests against the compiled artifact in a fresh
in-memory store; `coverage` maps what the conditions were seen to be back to their
source spans; `render` prints results as text, JSON and JUnit XML.
"""
