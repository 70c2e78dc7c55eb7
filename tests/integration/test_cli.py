"""The ``autooffice`` command as an operator runs it: real process, real database, one-line errors."""

from __future__ import annotations

import json

import pytest

from app.services.fleet import redact_dsn
from app.tables.control import Tenant

pytestmark = pytest.mark.integration


def test_tenant_create_then_list_shows_database_role_and_version(cli, settings) -> None:
    created = cli(
        "tenant",
        "create",
        "cli-shop",
        "--name",
        "CLI Shop",
        "--owner-email",
        "cli@example.com",
        "--password",
        "cli-password-123",
        "--currency",
        "UAH",
        "--country",
        "UA",
        "--locale",
        "uk",
    )
    assert created.returncode == 0, created.stderr
    assert "cli-shop" in created.stdout
    listed = cli("tenant", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(r for r in json.loads(listed.stdout) if r["slug"] == "cli-shop")
    assert row["database"] == row["role"] == f"{settings.db.prefix}_s_cli_shop"
    assert row["server"] == "primary" and row["status"] == "active"
    assert row["schema_version"] and row["size_bytes"] > 0


async def test_tenant_create_with_only_a_language_takes_its_currency_and_country(cli) -> None:
    created = cli("tenant", "create", "cli-uk", "--owner-email", "uk@cli.example.com", "--password", "cli-password-123",
                  "--locale", "uk")  # fmt: skip
    assert created.returncode == 0, created.stderr
    row = await Tenant.select(Tenant.currency, Tenant.country).where(Tenant.slug == "cli-uk").first()
    assert row == {"currency": "UAH", "country": "UA"}


def test_user_mistakes_are_one_line_without_traceback(cli, store_a) -> None:
    bad = cli("tenant", "create", "x", "--owner-email", "nope", "--password", "short")
    assert bad.returncode != 0
    assert bad.stderr.startswith("autooffice: ")
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    taken = cli("tenant", "create", "store-a", "--owner-email", "z@example.com", "--password", "long-enough-99")
    assert taken.returncode != 0 and "Traceback" not in taken.stderr


def test_migrate_prints_every_store_version_and_is_idempotent(cli, store_a) -> None:
    first = cli("migrate")
    assert first.returncode == 0, first.stderr
    assert store_a.slug in first.stdout and "0 failed" in first.stdout
    assert cli("migrate").returncode == 0


def test_server_list_hides_passwords(cli) -> None:
    listed = cli("server", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    servers = json.loads(listed.stdout)
    assert servers[0]["name"] == "primary"
    assert all(redact_dsn(s["dsn"]) == s["dsn"] for s in servers)


def test_dsn_passwords_are_redacted() -> None:
    assert redact_dsn("postgresql://admin:s3cret@db1:5432/postgres") == "postgresql://admin:***@db1:5432/postgres"
    assert redact_dsn("postgresql://postgres@/postgres?host=/tmp/x") == "postgresql://postgres@/postgres?host=/tmp/x"


def test_gateway_list_and_connect(cli, store_a) -> None:
    listed = cli("gateway", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    codes = {g["code"] for g in json.loads(listed.stdout)}
    assert {
        "yookassa",
        "robokassa",
        "cloudpayments",
        "tbank",
        "stripe",
        "paypal",
        "liqpay",
        "wayforpay",
        "sandbox",
    } <= codes
    done = cli("gateway", "connect", store_a.slug, "sandbox", "secret=a-long-enough-sandbox-secret", "--test", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["notification_url"].endswith(f"/hooks/{store_a.slug}/sandbox/{answer['connection_id']}")
    bad = cli("gateway", "connect", store_a.slug, "nope", "x=y")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_analytics_rebuild_recomputes_a_store_and_refuses_an_unknown_one(cli, store_a) -> None:
    done = cli("analytics", "rebuild", store_a.slug)
    assert done.returncode == 0, done.stderr
    assert f"{store_a.slug}: analytics rebuilt" in done.stdout
    missing = cli("analytics", "rebuild", "no-such-store")
    assert missing.returncode != 0 and missing.stderr.startswith("autooffice: ") and "Traceback" not in missing.stderr
