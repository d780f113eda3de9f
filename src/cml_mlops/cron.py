"""Cron schedules as CML jobs (and the monitoring schedule) take them: five fields, checked by croniter.

The template's pre-generation hook has its own copy of this check because cookiecutter hooks cannot import
the library; both refuse the same things: not five single-space-separated fields, values out of range,
zero steps, and the `@daily`-style macros CML does not document.
"""

from __future__ import annotations

from croniter import croniter


def validate_cron(expression: str) -> str:
    """Return `expression` when it is a valid five-field cron schedule, else raise ValueError saying why."""
    fields = expression.split(" ")
    if len(fields) != 5 or any(not field for field in fields):
        raise ValueError(
            f"cron schedule {expression!r} must have five fields separated by single spaces "
            "(minute hour day-of-month month day-of-week)"
        )
    try:
        croniter(expression)
    except (ValueError, KeyError) as exc:  # CroniterError is a ValueError; KeyError for some bad names
        raise ValueError(f"cron schedule {expression!r} is not valid: {exc}") from None
    return expression
