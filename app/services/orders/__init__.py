"""Orders: creation (numbered, idempotent, customer found or created), statuses, audit trail, lists."""

from __future__ import annotations

from app.services._paging import PAGE_SIZE
from app.services.orders._create import PlacedOrder, create_order, place_order
from app.services.orders._edit import STAFF_LINES, OrderEdit, update_order, validate_edit, validate_staff_order
from app.services.orders._lists import (
    Filters,
    Page,
    board,
    delete_view,
    filters_query,
    list_page,
    parse_filters,
    save_view,
    saved_views,
)
from app.services.orders._model import FINAL_GROUPS, GROUPS, LineDraft, OrderDraft, group_label
from app.services.orders._read import by_token, get, locale_by_token
from app.services.orders._status import (
    all_statuses,
    change_status,
    create_status,
    status_name,
    statuses,
    update_status,
)

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
    "PlacedOrder",
    "all_statuses",
    "board",
    "by_token",
    "change_status",
    "create_order",
    "create_status",
    "delete_view",
    "filters_query",
    "get",
    "group_label",
    "list_page",
    "locale_by_token",
    "parse_filters",
    "place_order",
    "save_view",
    "saved_views",
    "status_name",
    "statuses",
    "update_order",
    "update_status",
    "validate_edit",
    "validate_staff_order",
]
