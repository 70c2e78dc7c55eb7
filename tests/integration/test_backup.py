"""Backing up one store and restoring it into a new name, checked by rows and checksums per table,
through the ``autooffice`` command as an operator runs it."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.services import orders
from app.tables.control import Membership, Tenant
from app.tables.orders import Order
from app.tenancy import pgtools, provision, relocate
from app.tenancy import runtime as tenancy
from tests.conftest import login, make_store

pytestmark = pytest.mark.integration


async def add_orders(tenant: tenancy.TenantInfo, count: int, prefix: str) -> None:
    async with tenancy.bind_tenant(tenant):
        for i in range(count):
            line = orders.LineDraft(None, f"Товар {i}", f"SKU-{i}", 1000 + i, 1 + i % 3)
            await orders.create_order(
                orders.OrderDraft(
                    lines=(line,), currency="RUB", phone=f"+7916123{i:04d}", idempotency_key=f"{prefix}{i}"
                )
            )


async def test_backup_then_restore_into_a_new_name_matches_and_leaves_others_alone(
    runtime, cli, client, store_b, tmp_path
) -> None:
    shop = await make_store("backed-up")
    await add_orders(shop.tenant, 12, "b")
    others_before = await relocate.database_prints(store_b.tenant.server, store_b.tenant.database)
    archive = tmp_path / "backed-up.dump"

    made = cli("tenant", "backup", "backed-up", str(archive))
    assert made.returncode == 0, made.stderr
    assert "orders" in made.stdout and "order_number_seq (sequence)" in made.stdout
    manifest = json.loads((tmp_path / "backed-up.dump.json").read_text())
    by_table = {t["table"]: t for t in manifest["tables"]}
    assert by_table["orders"]["rows"] == 12 and by_table["customer"]["rows"] == 12
    await add_orders(shop.tenant, 3, "later")  # after the backup: must not appear in the copy

    restored = cli("tenant", "restore", "backed-up-copy", str(archive), "--from", "backed-up")
    assert restored.returncode == 0, restored.stderr
    assert "rows and checksums match the backup" in restored.stdout
    copy = await tenancy.lookup_tenant("backed-up-copy", fresh=True)
    assert copy is not None and copy.status == "active" and copy.database != shop.tenant.database
    copy_prints = await relocate.database_prints(copy.server, copy.database)
    assert {p.table: (p.rows, p.checksum) for p in copy_prints} == {
        t["table"]: (t["rows"], t["checksum"]) for t in manifest["tables"]
    }
    # The copy belongs to its own role; the original's role cannot open it.
    async with provision.admin_connection(copy.server, copy.database) as conn:
        owners = {
            r["tableowner"] for r in await conn.fetch("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
    assert owners == {copy.role}
    # Staff of the original can open the copy; the original keeps its 15 orders, the copy has 12.
    assert await Membership.exists().where((Membership.tenant == copy.id) & (Membership.identity == shop.identity_id))
    await login(client, shop.email)
    page = await client.get("/s/backed-up-copy/orders/")
    assert page.status_code == 200
    async with tenancy.bind_tenant(copy):
        assert await Order.count() == 12
    assert (await relocate.database_prints(shop.tenant.server, shop.tenant.database)) != copy_prints
    assert await relocate.database_prints(store_b.tenant.server, store_b.tenant.database) == others_before

    # Refusals: an existing name, a damaged file; neither leaves anything behind.
    with pytest.raises(relocate.RelocationError, match="exists"):
        await relocate.restore_tenant("backed-up-copy", archive)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    (tmp_path / "broken.dump.json").write_text((tmp_path / "backed-up.dump.json").read_text())
    failed = cli("tenant", "restore", "from-broken", str(broken))
    assert failed.returncode != 0 and "restore failed" in failed.stderr and "Traceback" not in failed.stderr
    assert not await Tenant.exists().where(Tenant.slug == "from-broken")
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
        assert not await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", provision.names_for("from-broken")
        )
    with pytest.raises(relocate.RelocationError, match="no store called"):
        await relocate.backup_tenant("no-such-store", tmp_path / "x.dump")
    for slug in ("backed-up", "backed-up-copy"):
        await provision.deprovision(slug)


async def test_restore_in_place_puts_the_store_back_to_the_backup(runtime, client, store_b, tmp_path) -> None:
    shop = await make_store("put-back")
    await add_orders(shop.tenant, 6, "kept")
    archive = tmp_path / "put-back.dump"
    # Orders keep coming while the backup runs: the manifest still describes exactly the archive,
    # because both read one exported snapshot (the restore below checks every table against it).
    writing = asyncio.create_task(add_orders(shop.tenant, 8, "during"))
    backup = await relocate.backup_tenant("put-back", archive)
    await writing
    await add_orders(shop.tenant, 4, "lost")  # the damage the restore undoes
    others_before = await relocate.database_prints(store_b.tenant.server, store_b.tenant.database)

    report = await relocate.replace_from_backup("put-back", archive, keep_old=True)

    def tables_only(prints):
        return [p for p in prints if not p.table.endswith(pgtools.SEQUENCE)]

    assert report.verified and tables_only(report.tables) == tables_only(backup.tables)
    info = await tenancy.lookup_tenant("put-back", fresh=True)
    assert info is not None and info.status == "active" and info.database == shop.tenant.database
    assert info.routing_version > shop.tenant.routing_version
    async with tenancy.bind_tenant(info):
        keys = sorted(r["idempotency_key"] for r in await Order.select(Order.idempotency_key))
    rows = next(p.rows for p in backup.tables if p.table == "orders")
    assert len(keys) == rows and set(keys) >= {f"kept{i}" for i in range(6)} and "lost0" not in keys
    async with provision.admin_connection(info.server, f"{info.database}_old") as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders") == 6 + 8 + 4  # the replaced copy, kept
    await login(client, shop.email)
    assert (await client.get("/s/put-back/orders/")).status_code == 200
    await add_orders(info, 1, "after")  # the store's own role writes to the restored database
    assert await relocate.database_prints(store_b.tenant.server, store_b.tenant.database) == others_before

    with pytest.raises(relocate.RelocationError, match="no store called"):
        await relocate.replace_from_backup("no-such-store", archive)
    async with provision.admin_connection(tenancy.PRIMARY_SERVER) as conn:
        await conn.execute(f'DROP DATABASE "{info.database}_old"')
    await provision.deprovision("put-back")
