"""The audit log also holds customer merges and their undo, automation rule changes, payment-link e-mails and
imports (started, applied, failed), each summary kept as a message and shown in its reader's language."""

from __future__ import annotations

import html

import pytest
from aiosmtpd.controller import Controller

from app import jobs
from app.services import orders
from app.tables.audit import AuditEntry
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import SHARED, csrf, login, make_store
from tests.integration.test_order_mail import Sink

pytestmark = pytest.mark.http

FEED = SHARED / "fixtures" / "real" / "yml" / "eva_ua_name_ua_price_old.xml"
# Action names as a reader sees them on the audit page (written by hand, not read from the catalogs).
LABELS = {
    "ru": {"merge": "Клиенты объединены", "unmerge": "Объединение отменено", "payment_link": "Ссылка на оплату"},
    "uk": {"merge": "Клієнтів об'єднано", "unmerge": "Об'єднання скасовано", "payment_link": "Посилання на оплату"},
}


def draft(phone: str | None, email: str | None = None) -> orders.OrderDraft:
    lines = (orders.LineDraft(None, "Чайник", "T-1", 129000, 1),)
    return orders.OrderDraft(lines=lines, currency="RUB", customer_name="Олена", phone=phone, email=email)


async def entries(store, entity: str) -> list[dict]:
    async with tenancy.bind_tenant(store.tenant):
        rows = AuditEntry.select().where(AuditEntry.entity == entity).output(load_json=True)
        return await rows.order_by(AuditEntry.id)


async def page(client, store, locale: str, entity: str) -> str:
    await client.get(f"/lang/{locale}")
    response = await client.get(f"/s/{store.slug}/staff/audit?entity={entity}")
    assert response.status_code == 200
    return html.unescape(response.text)


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_merge_and_its_undo_are_in_the_audit_log(client, runtime, locale) -> None:
    shop = await make_store(f"audit-merge-{locale}", locale=locale)
    async with tenancy.bind_tenant(shop.tenant):
        keep = (await orders.create_order(draft("+79126660001")))[0]["customer"]
        drop = (await orders.create_order(draft(None, "olena@example.com")))[0]["customer"]
    await login(client, shop.email)
    await client.get(f"/lang/{locale}")
    base = f"/s/{shop.slug}/customers"
    merged = await client.post(f"{base}/merge", data={"survivor": keep, "merged": drop, "_csrf_token": csrf(client)})
    assert merged.status_code == 303
    card = await client.get(f"{base}/{keep}")
    undo = card.text.split('data-testid="undo-merge-')[1].split('"')[0]
    assert (await client.post(f"{base}/merges/{undo}/undo", data={"_csrf_token": csrf(client)})).status_code == 303

    merge, unmerge = await entries(shop, "customer")
    assert (merge["action"], merge["entity_id"], merge["actor_id"]) == ("merge", str(keep), shop.identity_id)
    assert merge["after"]["merged"] == drop and merge["after"]["email"] == "olena@example.com"
    assert merge["before"] == {"email": None}
    assert merge["summary_data"]["id"] == "Customer #%(id)s merged into this one"
    assert (unmerge["action"], unmerge["after"]["restored"]) == ("unmerge", drop)
    assert unmerge["after"]["email"] is None  # the e-mail the merge filled in went back with the duplicate
    text = await page(client, shop, locale, "customer")
    assert LABELS[locale]["merge"] in text and LABELS[locale]["unmerge"] in text


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_automation_rule_changes_are_in_the_audit_log_without_the_secret(client, runtime, locale) -> None:
    shop = await make_store(f"audit-rules-{locale}", locale=locale)
    await login(client, shop.email)
    await client.get(f"/lang/{locale}")
    form = {
        "name": "Перезвонить", "event": "status_changed", "cond_status": "approval", "action": "create_task",
        "task_title": "Call {number}", "task_assignee": str(shop.identity_id), "task_due_hours": "4",
        "delay_minutes": "0", "active": "on", "_csrf_token": csrf(client),
    }  # fmt: skip
    created = await client.post(f"/s/{shop.slug}/settings/automation/new", data=form)
    assert created.status_code == 303
    rule_url = created.headers["location"].split("?")[0]
    bad = await client.post(rule_url, data={**form, "delay_minutes": "-5"})
    assert bad.status_code == 422  # refused: nothing written
    assert (await client.post(rule_url, data={**form, "delay_minutes": "30"})).status_code == 303
    assert (await client.post(f"{rule_url}/delete", data={"_csrf_token": csrf(client)})).status_code == 303

    create, update, delete = await entries(shop, "automation")
    assert [e["action"] for e in (create, update, delete)] == ["create", "update", "delete"]
    assert create["after"]["name"] == "Перезвонить" and create["actor"] == shop.email
    assert (update["before"], update["after"]) == ({"delay_minutes": 0}, {"delay_minutes": 30})
    assert delete["before"]["event"] == "status_changed"
    assert all("secret" not in e["after"] and "secret" not in e["before"] for e in (create, update, delete))
    assert "Перезвонить" in await page(client, shop, locale, "automation")


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_a_payment_link_e_mail_is_in_the_audit_log_once_it_went(client, runtime, monkeypatch, locale) -> None:
    down = free_port()  # nobody listens here: the mail cannot go
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(down))
    shop = await make_store(f"audit-link-{locale}", locale=locale)
    async with tenancy.bind_tenant(shop.tenant):
        order, _ = await orders.create_order(draft("+79120000029"))
    await login(client, shop.email)
    await client.get(f"/lang/{locale}")
    url = f"/s/{shop.slug}/orders/{order['id']}/payment-link"
    assert (await client.post(url, data={"link_email": "nope", "_csrf_token": csrf(client)})).status_code == 422
    failed = await client.post(url, data={"link_email": "pat@example.com", "_csrf_token": csrf(client)})
    assert failed.status_code == 422
    assert await entries(shop, "order") == []  # refused: nothing recorded, the form says it was not sent

    sink, port = Sink(), free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(port))
    try:
        sent = await client.post(url, data={"link_email": "pat@example.com", "_csrf_token": csrf(client)})
    finally:
        smtp.stop()
    assert sent.status_code == 200 and len(sink.messages) == 1
    [entry] = await entries(shop, "order")
    assert (entry["action"], entry["entity_id"]) == ("payment_link", str(order["id"]))
    assert entry["actor_id"] == shop.identity_id
    assert entry["after"] == {"to": "pat@example.com", "sent": True}
    assert LABELS[locale]["payment_link"] in await page(client, shop, locale, "order")


@pytest.mark.parametrize("locale", ["ru", "uk"])
async def test_imports_started_applied_and_failed_are_in_the_audit_log(client, runtime, locale) -> None:
    shop = await make_store(f"audit-import-{locale}", locale=locale)
    await login(client, shop.email)
    await client.get(f"/lang/{locale}")
    with FEED.open("rb") as handle:
        files = {"files": (FEED.name, handle, "text/xml")}
        started = await client.post(f"/s/{shop.slug}/imports/", files=files, data={"_csrf_token": csrf(client)})
    assert started.status_code == 303
    job_url = started.headers["location"]
    await jobs.run_worker(wait=False)  # the preview: changes nothing, so no entry
    assert (await client.post(f"{job_url}/apply", data={"_csrf_token": csrf(client)})).status_code in (200, 303)
    await jobs.run_worker(wait=False)
    garbage = {"files": ("goods.xml", b"\x00\x01 not a catalog", "text/xml")}
    refused = await client.post(f"/s/{shop.slug}/imports/", files=garbage, data={"_csrf_token": csrf(client)})
    assert refused.status_code in (303, 422)

    logged = await entries(shop, "import")
    assert [e["action"] for e in logged] == ["import_start", "import_apply", "import_fail"]  # refused outright
    assert logged[0]["after"]["files"] and logged[0]["actor_id"] == shop.identity_id
    assert logged[1]["after"]["offers_new"] == 150  # the feed's 150 offers
    assert logged[-1]["action"] == "import_fail" and logged[-1]["summary_data"]["params"]["reason"]["id"]
    text = await page(client, shop, locale, "import")
    assert {"ru": "Импорт #", "uk": "Імпорт #"}[locale] in text


async def test_store_b_cannot_read_store_a_audit_entries(client, store_a, store_b) -> None:
    await login(client, store_b.email)
    response = await client.get(f"/s/{store_a.slug}/staff/audit?entity=import")
    assert response.status_code == 404
