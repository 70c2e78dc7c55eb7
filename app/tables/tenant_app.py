"""Piccolo app for every store database; migrations live in ``migrations/tenant``."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

TENANT_TABLE_MODULES = [
    "app.tables.stores",
    "app.tables.catalog",
    "app.tables.imports",
    "app.tables.customers",
    "app.tables.orders",
    "app.tables.forms",
    "app.tables.payments",
    "app.tables.segments",
    "app.tables.audit",
    "app.tables.tasks",
    "app.tables.automation",
]

APP_CONFIG = AppConfig(
    app_name="tenant",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "tenant"),
    table_classes=table_finder(modules=TENANT_TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
