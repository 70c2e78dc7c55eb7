"""Import jobs and their per-row report."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class ImportJob(Table, tablename="import_job"):
    """One upload or feed fetch: previewed first, then applied whole or not at all."""

    format = Varchar(length=16, default="")  # yml | commerceml | csv (detected)
    source = Varchar(length=16, default="")  # the catalog source key rows are matched in
    filenames = JSONB(default=[])
    storage = Text(default="")  # folder holding the uploaded files until the job ends
    status = Varchar(length=16, default="queued")  # queued|previewing|previewed|applying|done|failed|cancelled
    mode = Varchar(length=8, default="preview")  # what the queued run does: preview | apply
    options = JSONB(default={})  # csv mapping, delimiter, currency
    bytes_total = BigInt(default=0)
    bytes_done = BigInt(default=0)
    counts = JSONB(default={})
    is_full = Boolean(default=False)
    errors = Integer(default=0)
    warnings = Integer(default=0)
    fatal = Text(default="")  # why the whole file was refused
    fatal_data = JSONB(default={})  # the same as a message id + parameters (app.i18n.messages)
    cancel_requested = Boolean(default=False)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class ImportIssue(Table, tablename="import_issue"):
    job = ForeignKey(references=ImportJob, on_delete=OnDelete.cascade, index=True)
    line = Integer(null=True, default=None)
    field = Varchar(length=64, null=True, default=None)
    code = Varchar(length=64)
    message = Text()
    message_data = JSONB(default={})  # message id + parameters, rendered in the viewer's language
    severity = Varchar(length=8, default="error")
    external_id = Varchar(length=255, null=True, default=None)
    source_file = Varchar(length=255, null=True, default=None)


class FeedSource(Table, tablename="feed_source"):
    """The store's feed URL, fetched on a schedule and applied without a preview."""

    url = Text()
    schedule = Varchar(length=8, default="off")  # off | hourly | daily
    last_run_at = Timestamptz(null=True, default=None)
    last_job = Integer(null=True, default=None)
    last_error = Text(default="")
    updated_at = Timestamptz()
