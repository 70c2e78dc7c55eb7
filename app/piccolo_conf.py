"""Piccolo configuration: one routed engine and the two apps (control plane, store schema)."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from app.tenancy.engine import ROUTED_DB

DB = ROUTED_DB
APP_REGISTRY = AppRegistry(apps=["app.tables.control_app", "app.tables.tenant_app"])
