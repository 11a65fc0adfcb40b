"""The fixed words of the language that both the compiler and hosts need.

Kept apart from the pydantic models so that `csdsl check` (run in pre-commit hooks)
does not pay for building the models at start-up.
"""

CTA_TYPES = ("risk", "opportunity", "lifecycle", "activity")
OBJECTIVE_CTA_TYPE = "objective"
TASK_TYPES = ("todo", "email", "call", "meeting", "milestone")
PRIORITIES = ("low", "medium", "high")
CALENDARS = ("calendar", "business")
