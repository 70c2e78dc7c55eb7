"""Paging shared by the list screens: a lenient page number and a page of rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.forms import rules

PAGE_SIZE = 50


def parse_page(raw: Mapping[str, str]) -> int:
    """The requested page, 1 to 10,000; anything else is page 1 rather than an error."""
    try:
        return min(rules.integer(raw.get("page") or "1", low=1, high=rules.INT64_MAX), 10_000)
    except rules.Invalid:
        return 1


def offset(page: int) -> int:
    return (page - 1) * PAGE_SIZE


@dataclass(frozen=True)
class Page:
    items: list[dict]
    total: int
    filters: Any

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))
