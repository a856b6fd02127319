"""Ids as callers send them: checked the same way by every service (dispatch, orders, settlement)."""

from __future__ import annotations

import re

from core.errors import FieldViolation

# Ids become parts of Redis keys and log lines: keep them short and free of separators' surprises.
ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# A Redis stream entry id (resume points of feeds and alert lists).
STREAM_ID = re.compile(r"^\d+-\d+$")


def id_violation(field: str, value: str, required: bool = True) -> FieldViolation | None:
    if not value:
        return FieldViolation(field, "required") if required else None
    if not ID_PATTERN.match(value):
        return FieldViolation(field, "must be 1-128 characters of letters, digits and . _ : -")
    return None
