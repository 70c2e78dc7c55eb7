"""Segments of the customer base (dynamic rules or static lists), their daily sizes, and RFM settings."""

from __future__ import annotations

from piccolo.columns import JSONB, Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from app.tables.customers import Customer


class Segment(Table, tablename="segment"):
    name = Varchar(length=120)
    kind = Varchar(length=8, default="dynamic")  # dynamic | static
    rules = JSONB(default=[])  # [{"field": "rfm_class", "op": "in", "value": [...]}, …] (AND)
    size = Integer(default=0)  # last computed size
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SegmentMember(Table, tablename="segment_member"):
    """A customer on a static list."""

    segment = ForeignKey(references=Segment, on_delete=OnDelete.cascade)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    added_at = Timestamptz()


class SegmentSnapshot(Table, tablename="segment_snapshot"):
    """A segment's size on one day (filled by the periodic ``segments.refresh`` job)."""

    segment = ForeignKey(references=Segment, on_delete=OnDelete.cascade)
    day = Date()
    size = Integer()


class RfmSetting(Table, tablename="rfm_setting"):
    """The store's RFM thresholds (one row): four ascending boundaries per axis."""

    recency_days = JSONB(default=[30, 90, 180, 365])  # R5 ≤ 30 days … R1 > 365
    frequency = JSONB(default=[2, 3, 5, 8])  # F1 = 1 order, F2 = 2, F3 = 3–4, F4 = 5–7, F5 ≥ 8
    monetary_minor = JSONB(default=[])  # set by the store; empty: use the quintiles below
    monetary_auto = JSONB(default=[])  # quintile boundaries of the base, kept by the periodic refresh
    updated_at = Timestamptz()
