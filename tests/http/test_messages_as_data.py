"""Messages as data: order history, the audit log, the customer timeline, import reports (page and CSV)
and the automation run log are stored as ids and values and read in the viewer's language, with field
labels, formatted money and the store's status names; no internal field name or Python repr shows.

The expected words are the catalog's translations and CLDR's formats written out by hand, so a wrong
label, a raw code or a sentence frozen in the writer's language fails here."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import lxml.html
import pytest

from app import jobs
from app.tables.automation import AutomationRule, AutomationRun
from app.tables.imports import ImportIssue, ImportJob
from app.tables.payments import Payment, PaymentConnection
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.factories import place_order

pytestmark = pytest.mark.http

LOCALES = ("ru", "uk", "en")

WORDS = {
    "ru": {
        "discount": "Скидка", "address": "Адрес доставки", "status": "Статус", "tags": "Теги",
        "new": "Новый", "approval": "Согласование", "assembling": "Комплектуется",
        "zero": "0,00\xa0₽", "hundred": "100,00\xa0₽", "list": "vip и постоянный", "edited": "Изменён",
        "order": "Заказ", "store": "Магазин", "city": "Город", "no_price": "У предложения A2 нет цены.",
        "tag_added": "Добавлен тег «vip».", "moved": "Статус изменён на Комплектуется.", "line": "Строка",
    },
    "uk": {
        "discount": "Знижка", "address": "Адреса доставки", "status": "Статус", "tags": "Теги",
        "new": "Новий", "approval": "Погодження", "assembling": "Комплектується",
        "zero": "0,00\xa0RUB", "hundred": "100,00\xa0RUB", "list": "vip і постоянный", "edited": "Змінено",
        "order": "Замовлення", "store": "Магазин", "city": "Місто", "no_price": "Пропозиція A2 не має ціни.",
        "tag_added": "Додано тег «vip».", "moved": "Статус змінено на Комплектується.", "line": "Рядок",
    },
    "en": {
        "discount": "Discount", "address": "Delivery address", "status": "Status", "tags": "Tags",
        "new": "New", "approval": "Awaiting confirmation", "assembling": "Being packed",
        "zero": "RUB0.00", "hundred": "RUB100.00", "list": "vip and постоянный", "edited": "Edited",
        "order": "Order", "store": "Store", "city": "City", "no_price": "Offer A2 has no price.",
        "tag_added": "Tag “vip” added.", "moved": "Status changed to Being packed.", "line": "Line",
    },
}  # fmt: skip

# What must never reach a person: column names, status codes, Python reprs.
INTERNAL = re.compile(r"discount_minor|delivery_address|customer_name|\['|\{'|\bapproval\b|\bassembling\b")


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("words-shop", locale="ru")


def text_of(html: str, testid: str) -> list[str]:
    """The text of each element with ``data-testid=testid``, whitespace collapsed (CLDR's no-break spaces kept)."""
    root = lxml.html.fromstring(html)
    return [re.sub(r"[ \t\n]+", " ", el.text_content()).strip() for el in root.xpath("//*[@data-testid=$t]", t=testid)]


async def edit_order(client, shop, lang: str) -> dict:
    """Place an order, confirm it, give it a discount and an address, then move it on: all in ``lang``."""
    order = await place_order(shop, name=f"Anna {lang}")
    base = f"/s/{shop.slug}/orders/{order['id']}"
    token = {"_csrf_token": csrf(client)}
    moved = await client.post(f"{base}/status?lang={lang}", data={**token, "status": "approval"})
    assert moved.status_code == 303
    edit = {
        **token, "customer_name": f"Anna {lang}", "phone": "", "email": "", "delivery_address": "Lenina 1",
        "comment": "", "discount": "100",
    }  # fmt: skip
    assert (await client.post(f"{base}/edit?lang={lang}", data=edit)).status_code == 303
    assert (await client.post(f"{base}/status?lang={lang}", data={**token, "status": "assembling"})).status_code == 303
    return order


@pytest.mark.parametrize("lang", LOCALES)
async def test_order_history_shows_labels_money_and_status_names_in_the_viewers_language(client, shop, lang) -> None:
    await login(client, shop.email)
    order = await edit_order(client, shop, lang)
    for viewer in LOCALES:  # written once, read in each language
        words = WORDS[viewer]
        page = await client.get(f"/s/{shop.slug}/orders/{order['id']}?lang={viewer}")
        assert page.status_code == 200
        history = text_of(page.text, "history-entry")
        assert any(f"{words['status']}: {words['new']} → {words['approval']}" in h for h in history), history
        assert any(f"{words['discount']}: {words['zero']} → {words['hundred']}" in h for h in history), history
        assert any(f"{words['address']}: — → Lenina 1" in h for h in history), history
        assert any(f"{words['status']}: {words['approval']} → {words['assembling']}" in h for h in history), history
        section = page.text.split('data-testid="order-history"')[1].split("</ul>")[0]
        assert not INTERNAL.search(section), section
        assert "10000" not in section


@pytest.mark.parametrize("lang", LOCALES)
async def test_audit_entries_read_in_the_viewers_language(client, shop, lang) -> None:
    await login(client, shop.email)
    order = await edit_order(client, shop, lang)
    async with tenancy.bind_tenant(shop.tenant):
        customer_id = order["customer"]
    token = {"_csrf_token": csrf(client)}
    tagged = await client.post(
        f"/s/{shop.slug}/customers/{customer_id}/tags?lang={lang}", data={**token, "tags": "vip, Постоянный"}
    )
    assert tagged.status_code == 303
    for viewer in LOCALES:
        words = WORDS[viewer]
        page = await client.get(f"/s/{shop.slug}/staff/audit?q={order['number']}&lang={viewer}")
        changes = text_of(page.text, "audit-change")
        assert f"{words['discount']}: {words['zero']} → {words['hundred']}" in changes, changes
        assert f"{words['status']}: {words['new']} → {words['approval']}" in changes, changes
        assert words["edited"] in text_of(page.text, "audit-action")
        customers = await client.get(f"/s/{shop.slug}/staff/audit?entity=customer&lang={viewer}")
        assert f"{words['tags']}: — → {words['list']}" in text_of(customers.text, "audit-change")
        table = page.text.split('id="audit-table"')[1] + customers.text.split('id="audit-table"')[1]
        assert not INTERNAL.search(table), INTERNAL.search(table)


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_settings_summary_written_in_one_language_reads_in_another(client, shop, lang) -> None:
    await login(client, shop.email)
    other = "uk" if lang != "uk" else "en"
    data = {"_csrf_token": csrf(client), "name": f"Words {lang}", "locale": "ru", "currency": "RUB", "country": "RU"}
    assert (await client.post(f"/s/{shop.slug}/settings/store?lang={other}", data=data)).status_code in (200, 303)
    page = await client.get(f"/s/{shop.slug}/staff/audit?entity=settings&q=Words+{lang}&lang={lang}")
    assert text_of(page.text, "audit-summary") == [WORDS[lang]["store"]]


@pytest.mark.parametrize("lang", LOCALES)
async def test_timeline_shows_status_names_and_labelled_contacts(client, shop, lang) -> None:
    await login(client, shop.email)
    order = await edit_order(client, shop, lang)
    customer_id = order["customer"]
    contacts = {"_csrf_token": csrf(client), "name": f"Anna {lang}", "city": "Kazan", "phone": "", "email": ""}
    contacts["phone"] = order["phone"]
    changed = await client.post(f"/s/{shop.slug}/customers/{customer_id}/contacts?lang={lang}", data=contacts)
    assert changed.status_code in (200, 303), changed.text[-400:]
    task = {"_csrf_token": csrf(client), "task": "Call back", "due": "2026-12-31"}
    added = await client.post(f"/s/{shop.slug}/customers/{customer_id}/tasks?lang={lang}", data=task)
    assert added.status_code == 303
    for viewer in LOCALES:
        words = WORDS[viewer]
        page = await client.get(f"/s/{shop.slug}/customers/{customer_id}?lang={viewer}")
        lines = text_of(page.text, "event-change")
        assert f"{words['new']} → {words['approval']}" in lines, lines
        assert f"{words['city']}: — → Kazan" in lines, lines
        assert any(DUE[viewer] in due for due in text_of(page.text, "event-due")), text_of(page.text, "event-due")
        timeline = page.text.split('id="customer-timeline"')[1]
        assert not INTERNAL.search(timeline) and "city:" not in timeline


DUE = {"ru": "31 дек. 2026\u202fг.", "uk": "31 груд. 2026\u202fр.", "en": "Dec 31, 2026"}  # CLDR medium dates

YML = b"""<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2026-01-01 00:00"><shop><name>T</name><company>T</company><url>https://t.example</url>
<currencies><currency id="RUR" rate="1"/></currencies><categories><category id="1">Cat</category></categories>
<offers><offer id="A1" available="true"><name>Good</name><price>100</price><currencyId>RUR</currencyId>
<categoryId>1</categoryId></offer><offer id="A2" available="true"><name>No price</name><currencyId>RUR</currencyId>
<categoryId>1</categoryId></offer></offers></shop></yml_catalog>"""


@pytest.mark.parametrize("lang", LOCALES)
async def test_an_import_report_reads_in_the_viewers_language_on_the_page_and_in_the_csv(client, shop, lang) -> None:
    await login(client, shop.email)
    uploaded = await client.post(
        f"/s/{shop.slug}/imports/?lang={lang}",
        files={"files": ("feed.xml", YML, "text/xml")},
        data={"_csrf_token": csrf(client)},
    )
    assert uploaded.status_code == 303
    job_url = uploaded.headers["location"].split("?")[0]
    await jobs.run_worker(wait=False)
    for viewer in LOCALES:
        words = WORDS[viewer]
        page = await client.get(f"{job_url}?lang={viewer}")
        assert words["no_price"] in page.text
        others = [WORDS[o]["no_price"] for o in LOCALES if o != viewer]
        assert not any(o in page.text for o in others)
        report = await client.get(f"{job_url}/report.csv?lang={viewer}")
        rows = list(csv.reader(io.StringIO(report.text)))
        assert rows[0][1] == words["line"] and any(words["no_price"] in row for row in rows[1:]), rows


async def test_rows_written_before_message_ids_keep_their_text(client, shop) -> None:
    await login(client, shop.email)
    async with tenancy.bind_tenant(shop.tenant):
        job = await ImportJob.insert(ImportJob(status="previewed", filenames=["old.xml"])).returning(ImportJob.id)
        job_id = job[0]["id"]
        await ImportIssue.insert(ImportIssue(job=job_id, line=3, code="old", message="Старый текст строки"))
    page = await client.get(f"/s/{shop.slug}/imports/{job_id}?lang=en")
    assert "Старый текст строки" in page.text
    report = await client.get(f"/s/{shop.slug}/imports/{job_id}/report.csv?lang=uk")
    assert "Старый текст строки" in report.text


@pytest.mark.parametrize("lang", LOCALES)
async def test_the_automation_run_log_reads_in_the_viewers_language(client, shop, lang) -> None:
    await login(client, shop.email)
    rules = [
        {"name": f"Tag {lang}", "action": "add_tag", "tag": "vip"},
        {"name": f"Pack {lang}", "action": "change_status", "to_status": "assembling"},
    ]
    for rule in rules:
        created = await client.post(
            f"/s/{shop.slug}/settings/automation/new?lang={lang}",
            data={
                **rule, "event": "status_changed", "cond_status": "approval", "delay_minutes": "0", "active": "on",
                "_csrf_token": csrf(client),
            },
        )  # fmt: skip
        assert created.status_code == 303, created.text[-500:]
    order = await place_order(shop, name=f"Rule {lang}")
    url = f"/s/{shop.slug}/orders/{order['id']}/status?lang={lang}"
    moved = await client.post(url, data={"status": "approval", "_csrf_token": csrf(client)})
    assert moved.status_code == 303
    await jobs.run_worker(wait=False)
    async with tenancy.bind_tenant(shop.tenant):
        done = await AutomationRun.count().where(
            (AutomationRun.order_id == order["id"]) & (AutomationRun.status == "done")
        )
    assert done == 2
    for viewer in LOCALES:
        words = WORDS[viewer]
        page = await client.get(f"/s/{shop.slug}/settings/automation/?lang={viewer}")
        assert words["tag_added"] in page.text and words["moved"] in page.text, viewer
    async with tenancy.bind_tenant(shop.tenant):  # the next language's rules must not meet this one's
        await AutomationRule.delete(force=True)


async def test_another_store_cannot_read_this_stores_report(client, shop, store_b) -> None:
    await login(client, store_b.email)
    async with tenancy.bind_tenant(shop.tenant):
        job = await ImportJob.select(ImportJob.id).first()
    assert job is not None
    assert (await client.get(f"/s/{shop.slug}/imports/{job['id']}/report.csv")).status_code == 404


PAID = {"ru": "Оплачен", "uk": "Оплачено", "en": "Paid"}


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_customer_cards_payments_show_their_status_by_name(client, shop, lang) -> None:
    await login(client, shop.email)
    order = await place_order(shop, name=f"Payer {lang}")
    now = datetime.now(UTC)
    async with tenancy.bind_tenant(shop.tenant):
        connection = await PaymentConnection.insert(
            PaymentConnection(code="offline", name="Cash", config_encrypted="", created_at=now)
        ).returning(PaymentConnection.id)
        paid = Payment(
            order=order["id"], connection=connection[0]["id"], ref=f"p-{lang}-{order['id']}",
            idempotency_key=f"k-{lang}-{order['id']}", status="succeeded", amount_minor=129050, currency="RUB",
            created_at=now, updated_at=now,
        )  # fmt: skip
        await Payment.insert(paid)
    page = await client.get(f"/s/{shop.slug}/customers/{order['customer']}?lang={lang}")
    assert text_of(page.text, "customer-payment-status") == [PAID[lang]]


EMPTY = {"ru": "Файл пуст.", "uk": "Файл порожній.", "en": "The file is empty."}


@pytest.mark.parametrize("lang", LOCALES)
async def test_why_a_file_was_refused_reads_in_the_viewers_language(client, shop, lang) -> None:
    await login(client, shop.email)
    uploaded = await client.post(
        f"/s/{shop.slug}/imports/?lang={lang}",
        files={"files": ("empty.xml", b"   ", "text/xml")},
        data={"_csrf_token": csrf(client)},
    )
    assert uploaded.status_code == 303
    job_url = uploaded.headers["location"].split("?")[0]
    await jobs.run_worker(wait=False)
    for viewer in LOCALES:
        [fatal] = text_of((await client.get(f"{job_url}?lang={viewer}")).text, "import-fatal")
        assert EMPTY[viewer] in fatal and "empty.xml" in fatal
