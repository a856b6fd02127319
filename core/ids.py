"""Ids as callers send them: checked once, the same way by every commerce service."""

from __future__ import annotations

import re

from core.errors import FieldViolation

# Ids become parts of Redis keys and log lines (the alphabet dispatch accepts too).
ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def id_violation(field: str, value: str, required: bool = True) -> FieldViolation | None:
    if not value:
        return FieldViolation(field, "required") if required else None
    if not ID_PATTERN.match(value):
        return FieldViolation(field, "must be 1-128 characters of letters, digits and . _ : -")
    return None
