"""Orders: creation (numbered, idempotent, customer found or created), statuses, audit trail, lists."""

from __future__ import annotations

from app.services.orders._create import create_order
from app.services.orders._edit import STAFF_LINES, OrderEdit, update_order, validate_edit, validate_staff_order
from app.services.orders._lists import Filters, Page, board, list_page, parse_filters
from app.services.orders._model import FINAL_GROUPS, GROUPS, PAGE_SIZE, LineDraft, OrderDraft, group_label
from app.services.orders._read import by_token, get
from app.services.orders._status import change_status, status_name, statuses

__all__ = [
    "FINAL_GROUPS",
    "GROUPS",
    "PAGE_SIZE",
    "STAFF_LINES",
    "Filters",
    "LineDraft",
    "OrderDraft",
    "OrderEdit",
    "Page",
    "board",
    "by_token",
    "change_status",
    "create_order",
    "get",
    "group_label",
    "list_page",
    "parse_filters",
    "status_name",
    "statuses",
    "update_order",
    "validate_edit",
    "validate_staff_order",
]
