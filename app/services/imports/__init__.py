"""Catalog import parsing (no database): YML, CommerceML and CSV files into streamed, normalized records."""

from __future__ import annotations

from app.services.imports.commerceml import parse_commerceml, stream_commerceml
from app.services.imports.csv_generic import SYNONYMS, guess_mapping
from app.services.imports.csvfeed import parse_csv, stream_csv
from app.services.imports.detect import detect_format, parse_file, parse_files, stream_file, stream_files
from app.services.imports.records import (
    Category,
    Currency,
    FeedFormat,
    FeedMeta,
    ImportFileError,
    ImportStream,
    Offer,
    Param,
    ParseResult,
    PriceStockUpdate,
    Product,
    Record,
    RowIssue,
    SourceInfo,
)
from app.services.imports.values import parse_money
from app.services.imports.yml import parse_yml, stream_yml

__all__ = [
    "SYNONYMS",
    "Category",
    "Currency",
    "FeedFormat",
    "FeedMeta",
    "ImportFileError",
    "ImportStream",
    "Offer",
    "Param",
    "ParseResult",
    "PriceStockUpdate",
    "Product",
    "Record",
    "RowIssue",
    "SourceInfo",
    "detect_format",
    "guess_mapping",
    "parse_commerceml",
    "parse_csv",
    "parse_file",
    "parse_files",
    "parse_money",
    "parse_yml",
    "stream_commerceml",
    "stream_csv",
    "stream_file",
    "stream_files",
    "stream_yml",
]
