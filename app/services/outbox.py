"""Business events for automation, written to an outbox in the caller's transaction.

Services call :func:`emit` inside the transaction that makes the change, so an event exists exactly when
the change was committed; a background job drains the outbox (``services.automation.drain``). This
module imports only tables, so every service can use it without an import cycle, and no service needs
to start a job itself (only entry points do).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

from app.tables.automation import AutomationEvent

ORDER_CREATED = "order_created"
STATUS_CHANGED = "status_changed"
PAYMENT_RECEIVED = "payment_received"
PAYMENT_FAILED = "payment_failed"
FORM_UNFINISHED = "form_unfinished"
SEGMENT_ENTERED = "segment_entered"
NO_ORDER = "no_order"
KINDS = (ORDER_CREATED, STATUS_CHANGED, PAYMENT_RECEIVED, PAYMENT_FAILED, FORM_UNFINISHED, SEGMENT_ENTERED, NO_ORDER)

# How many rule actions led to the code running now; events it emits carry this depth.
_depth: ContextVar[int] = ContextVar("automation_depth", default=0)


@contextlib.contextmanager
def caused_by_rule(depth: int) -> Iterator[None]:
    """Events emitted inside this block were caused by a rule acting on an event of ``depth - 1``."""
    token = _depth.set(depth)
    try:
        yield
    finally:
        _depth.reset(token)


async def emit(
    kind: str, *, order_id: int | None = None, customer_id: int | None = None, data: dict | None = None
) -> None:
    """Record that ``kind`` happened; call it inside the transaction that makes the change."""
    await AutomationEvent.raw(
        "INSERT INTO automation_event (kind, order_id, customer_id, data, depth, created_at)"
        " VALUES ({}, {}, {}, {}::jsonb, {}, {})",
        kind,
        order_id,
        customer_id,
        json.dumps(data or {}, ensure_ascii=False, default=str),
        _depth.get(),
        datetime.now(UTC),
    )


async def segment_entered(customer_id: int, segment_id: int, segment_name: str = "") -> None:
    """For the segments refresh: a customer has just entered a segment."""
    await emit(SEGMENT_ENTERED, customer_id=customer_id, data={"segment": segment_id, "name": segment_name})
