"""Piccolo app for the control-plane database; migrations live in ``migrations/control``."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.tables.control import DbServer, Identity, KvEntry, Membership, Tenant

APP_CONFIG = AppConfig(
    app_name="control",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "control"),
    table_classes=[DbServer, Tenant, Identity, Membership, KvEntry],
    migration_dependencies=[],
    commands=[],
)
