"""Automation rules: events from the outbox, conditions, actions (now or delayed), a log, loop guards."""

from __future__ import annotations

from app.services.automation._engine import (
    MAX_DEPTH,
    RATE_LIMIT,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Env,
    drain,
    execute,
    payload,
    prune,
    run_due,
    scan_no_order,
    sign,
)
from app.services.automation._rules import (
    ACTIONS,
    SOURCES,
    action_label,
    create_rule,
    delete_rule,
    event_label,
    form_values,
    get_rule,
    list_rules,
    run_status_label,
    runs,
    update_rule,
    validate,
)
from app.services.automation._segments import scan_segments

__all__ = [
    "ACTIONS",
    "MAX_DEPTH",
    "RATE_LIMIT",
    "SIGNATURE_HEADER",
    "SOURCES",
    "TIMESTAMP_HEADER",
    "Env",
    "action_label",
    "create_rule",
    "delete_rule",
    "drain",
    "event_label",
    "execute",
    "form_values",
    "get_rule",
    "list_rules",
    "payload",
    "prune",
    "run_due",
    "run_status_label",
    "runs",
    "scan_no_order",
    "scan_segments",
    "sign",
    "update_rule",
    "validate",
]
