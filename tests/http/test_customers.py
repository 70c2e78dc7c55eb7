"""Customer and segment screens over HTTP: list, card, edits with dedupe, rule editor errors, exports, isolation."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from app.services import orders, segments
from app.tables.customers import Customer, CustomerEvent
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.http.test_pages_i18n import english_phrases, visible_text

pytestmark = pytest.mark.http


def draft(phone: str | None, email: str | None = None, name: str = "Анна Смирнова") -> orders.OrderDraft:
    return orders.OrderDraft(
        lines=(orders.LineDraft(None, "Чайник", "T-1", 129000, 1),),
        currency="RUB",
        customer_name=name,
        phone=phone,
        email=email,
    )


@pytest.fixture(scope="module")
async def shops(runtime):
    """Two stores with customers of their own."""
    a = await make_store("cust-http-a")
    b = await make_store("cust-http-b", locale="uk", currency="UAH", country="UA")
    async with tenancy.bind_tenant(a.tenant):
        first, _ = await orders.create_order(draft("+79125550001", "anna@example.com"))
        second, _ = await orders.create_order(draft("+79125550002", None, "Борис Петров"))
        seg_id, _ = await segments.save(
            None,
            "Все с заказами",
            "dynamic",
            (await segments.validate_rules([{"field": "orders_count", "op": "gte", "value": "1"}], "RUB"))[0],
        )
    async with tenancy.bind_tenant(b.tenant):
        other, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "T-1", 100, 1),),
                currency="UAH",
                customer_name="Секретна Клієнтка",
                phone="+380441234567",
            )
        )
        b_seg, _ = await segments.save(None, "Таємний сегмент", "static", [])
    return {
        "a": a,
        "b": b,
        "anna": first["customer"],
        "boris": second["customer"],
        "seg": seg_id,
        "b_customer": other["customer"],
        "b_seg": b_seg,
    }


async def test_list_search_and_fragment(client, shops) -> None:
    a = shops["a"]
    await login(client, a.email)
    page = await client.get(f"/s/{a.slug}/customers/")
    assert page.status_code == 200
    assert page.text.count('data-testid="customer-row"') == 2
    found = await client.get(f"/s/{a.slug}/customers/?q=борис", headers={"HX-Request": "true"})
    assert found.status_code == 200
    assert found.text.startswith('<section id="customers-table"')
    assert "Борис Петров" in found.text and "Анна Смирнова" not in found.text
    assert found.headers["vary"] == "HX-Request"
    members = await client.get(f"/s/{a.slug}/customers/?segment={shops['seg']}")
    assert members.text.count('data-testid="customer-row"') == 2


async def test_card_shows_orders_totals_timeline_and_takes_notes_tasks_tags(client, shops) -> None:
    a = shops["a"]
    await login(client, a.email)
    url = f"/s/{a.slug}/customers/{shops['anna']}"
    card = await client.get(url)
    assert card.status_code == 200
    assert 'data-testid="customer-order"' in card.text and 'data-testid="event-order_placed"' in card.text
    assert re.search(r'data-testid="customer-spent">1\D290', card.text)  # the store's money format
    assert re.search(r'data-testid="customer-average">1\D290', card.text)
    bad = await client.post(f"{url}/notes", data={"note": "  ", "_csrf_token": csrf(client)})
    assert bad.status_code == 422 and 'data-testid="error-note"' in bad.text
    ok = await client.post(f"{url}/notes", data={"note": "Просила перезвонить", "_csrf_token": csrf(client)})
    assert ok.status_code == 303
    bad_task = await client.post(
        f"{url}/tasks", data={"task": "Позвонить", "due": "завтра", "_csrf_token": csrf(client)}
    )
    assert bad_task.status_code == 422 and 'data-testid="error-due"' in bad_task.text
    await client.post(f"{url}/tasks", data={"task": "Позвонить", "due": "2026-12-01", "_csrf_token": csrf(client)})
    await client.post(f"{url}/tags", data={"tags": "VIP, опт, vip", "_csrf_token": csrf(client)})
    card = await client.get(url)
    assert 'data-testid="event-note"' in card.text and 'data-testid="event-task"' in card.text
    assert "Просила перезвонить" in card.text
    assert card.text.count('class="chip" href') == 2  # "vip" once, "опт"
    only_notes = await client.get(f"{url}?kind=note", headers={"HX-Request": "true"})
    assert 'data-testid="event-note"' in only_notes.text and "event-order_placed" not in only_notes.text


async def test_contact_edit_refuses_another_customers_phone(client, shops) -> None:
    a = shops["a"]
    await login(client, a.email)
    url = f"/s/{a.slug}/customers/{shops['anna']}/contacts"
    taken = await client.post(url, data={"name": "Анна", "phone": "8 912 555-00-02", "_csrf_token": csrf(client)})
    assert taken.status_code == 422
    assert 'data-testid="error-phone"' in taken.text and 'data-testid="duplicate-of"' in taken.text
    wrong = await client.post(url, data={"phone": "12", "email": "nope", "_csrf_token": csrf(client)})
    assert wrong.status_code == 422 and 'data-testid="error-email"' in wrong.text
    ok = await client.post(
        url,
        data={
            "name": "Анна С.",
            "phone": "+7 912 555 00 01",
            "email": "anna@example.com",
            "city": "Казань",
            "_csrf_token": csrf(client),
        },
    )
    assert ok.status_code == 303
    async with tenancy.bind_tenant(a.tenant):
        kinds = [
            e["kind"]
            for e in await CustomerEvent.select(CustomerEvent.kind).where(CustomerEvent.customer == shops["anna"])
        ]
    assert "contact_changed" in kinds


@pytest.mark.parametrize("locale", ["ru", "en", "uk"])
async def test_rule_editor_bad_input_is_422_with_translated_errors(client, shops, locale) -> None:
    a = shops["a"]
    await client.get(f"/lang/{locale}")
    await login(client, a.email)
    response = await client.post(
        f"/s/{a.slug}/segments/preview",
        data={
            "name": "X",
            "kind": "dynamic",
            "r0_field": "total_spent",
            "r0_op": "gte",
            "r0_value": "много",
            "r1_field": "orders_count",
            "r1_op": "gte",
            "r1_value": "-3",
            "_csrf_token": csrf(client),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert 'data-testid="error-r0_value"' in response.text and 'data-testid="error-r1_value"' in response.text
    expected = {"ru": "Введите сумму", "en": "Enter an amount", "uk": "Введіть суму"}[locale]
    assert expected in response.text
    good = await client.post(
        f"/s/{a.slug}/segments/preview",
        data={
            "name": "X",
            "kind": "dynamic",
            "r0_field": "orders_count",
            "r0_op": "gte",
            "r0_value": "1",
            "_csrf_token": csrf(client),
        },
        headers={"HX-Request": "true"},
    )
    assert good.status_code == 200 and 'data-testid="segment-count"' in good.text
    assert ">2 " in good.text or "2 " in good.text.split('data-testid="segment-count">')[1][:20]
    empty = await client.post(
        f"/s/{a.slug}/segments/new", data={"name": "", "kind": "dynamic", "_csrf_token": csrf(client)}
    )
    assert empty.status_code == 422 and 'data-testid="error-name"' in empty.text


async def test_segment_create_show_and_export_csv_xlsx(client, shops) -> None:
    a = shops["a"]
    await login(client, a.email)
    created = await client.post(
        f"/s/{a.slug}/segments/new",
        data={
            "name": "Казань",
            "kind": "dynamic",
            "r0_field": "orders_count",
            "r0_op": "gte",
            "r0_value": "1",
            "_csrf_token": csrf(client),
        },
    )
    assert created.status_code == 303
    url = created.headers["location"]
    show = await client.get(url)
    assert show.status_code == 200 and "<svg" in show.text
    exported = await client.get(f"{url}/export?format=csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and {r[2] for r in rows[1:]} == {"'+79125550001", "'+79125550002"}  # "+…" is guarded
    xlsx = await client.get(f"{url}/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3
    index = await client.get(f"/s/{a.slug}/segments/")
    assert index.status_code == 200 and 'data-testid="rfm-heatmap"' in index.text
    portrait = await client.get(f"/s/{a.slug}/segments/portrait?group=segment:{shops['seg']}")
    assert portrait.status_code == 200 and 'data-testid="portrait-story"' in portrait.text
    bad_rfm = await client.post(
        f"/s/{a.slug}/segments/rfm", data={"recency_days": "5", "frequency": "1,1", "_csrf_token": csrf(client)}
    )
    assert bad_rfm.status_code == 422 and 'data-testid="error-recency_days"' in bad_rfm.text


async def test_store_a_cannot_reach_store_b_customers_or_segments(client, shops) -> None:
    a, b = shops["a"], shops["b"]
    await login(client, a.email)
    # Store B's ids through store A's URLs: not found, never B's data.
    card = await client.get(f"/s/{a.slug}/customers/{shops['b_customer']}")
    assert "Секретна Клієнтка" not in card.text
    seg = await client.get(f"/s/{a.slug}/segments/{shops['b_seg']}")
    assert "Таємний сегмент" not in seg.text
    for path in ("customers/", f"customers/{shops['b_customer']}", "segments/", f"segments/{shops['b_seg']}/export"):
        response = await client.get(f"/s/{b.slug}/{path}")
        assert response.status_code == 404, path
    moved = await client.post(
        f"/s/{b.slug}/customers/merge", data={"survivor": "1", "merged": "2", "_csrf_token": csrf(client)}
    )
    assert moved.status_code == 404
    listing = await client.get(f"/s/{a.slug}/customers/?q=Секретна")
    assert "Секретна" not in listing.text.split('id="customers-table"')[1]


@pytest.mark.parametrize("locale", ["ru", "en", "uk"])
async def test_card_segment_and_portrait_render_translated(client, shops, locale) -> None:
    a = shops["a"]
    await client.get(f"/lang/{locale}")
    await login(client, a.email)
    for path in (
        f"customers/{shops['anna']}",
        f"segments/{shops['seg']}",
        f"segments/portrait?group=segment:{shops['seg']}",
    ):
        response = await client.get(f"/s/{a.slug}/{path}")
        assert response.status_code == 200, path
        assert f'<html lang="{locale}">' in response.text
        if locale != "en":
            text = visible_text(response.text)
            leaked = [phrase for phrase in english_phrases(locale) if phrase in text]
            assert not leaked, f"{locale} {path}: untranslated {leaked[:5]}"


async def test_customer_csv_import_upserts_by_phone_or_refuses_the_whole_file(client, shops) -> None:
    a = shops["a"]
    await login(client, a.email)
    url = f"/s/{a.slug}/customers/import"
    bad = "Имя;Телефон;E-mail;Город\nОля;+7 912 777-00-01;;Омск\nНикто;12;;\nЛена;;не почта;\n".encode("cp1251")
    response = await client.post(url, files={"file": ("bad.csv", bad, "text/csv")}, data={"_csrf_token": csrf(client)})
    assert response.status_code == 422
    assert response.text.count('data-testid="import-error"') == 2
    async with tenancy.bind_tenant(a.tenant):
        assert not await Customer.exists().where(Customer.phone == "+79127770001")  # nothing half-applied
    good = "name,phone,email,city,tags\nОля,+7 912 777-00-01,,Омск,опт\nАнна,8 912 555-00-01,,,vip\n".encode()
    response = await client.post(
        url, files={"file": ("good.csv", good, "text/csv")}, data={"_csrf_token": csrf(client)}
    )
    assert response.status_code == 200 and 'data-testid="import-done"' in response.text
    async with tenancy.bind_tenant(a.tenant):
        olya = await Customer.select().where(Customer.phone == "+79127770001").first()
        assert olya["source"] == "import" and olya["city"] == "Омск"
        anna = await Customer.select(Customer.id, Customer.tags).where(Customer.phone == "+79125550001").first()
        assert anna["id"] == shops["anna"] and "vip" in anna["tags"]  # the existing customer, updated
        kinds = [
            e["kind"]
            for e in await CustomerEvent.select(CustomerEvent.kind).where(CustomerEvent.customer == anna["id"])
        ]
        assert "import" in kinds
    empty = await client.post(url, data={"_csrf_token": csrf(client)}, files={"other": ("x", b"", "text/plain")})
    assert empty.status_code == 422


async def test_duplicates_page_merges_and_the_card_undoes(client, runtime) -> None:
    shop = await make_store("cust-http-dups")
    async with tenancy.bind_tenant(shop.tenant):
        keep = (await orders.create_order(draft("+79126660001")))[0]["customer"]
        drop = (await orders.create_order(draft(None, "olga@example.com", "Ольга")))[0]["customer"]
        await orders.create_order(draft("+79126660001", "olga@example.com"))
    await login(client, shop.email)
    page = await client.get(f"/s/{shop.slug}/customers/duplicates")
    assert page.text.count('data-testid="duplicate-pair"') == 1
    merged = await client.post(
        f"/s/{shop.slug}/customers/merge", data={"survivor": keep, "merged": drop, "_csrf_token": csrf(client)}
    )
    assert merged.status_code == 303 and merged.headers["location"].endswith(f"/customers/{keep}")
    card = await client.get(f"/s/{shop.slug}/customers/{keep}")
    assert card.text.count('data-testid="customer-order"') == 3
    undo = card.text.split('data-testid="undo-merge-')[1].split('"')[0]
    again = await client.post(
        f"/s/{shop.slug}/customers/merge", data={"survivor": keep, "merged": drop, "_csrf_token": csrf(client)}
    )
    assert again.status_code == 422 and 'data-testid="error-merge"' in again.text
    undone = await client.post(f"/s/{shop.slug}/customers/merges/{undo}/undo", data={"_csrf_token": csrf(client)})
    assert undone.status_code == 303
    assert (await client.get(f"/s/{shop.slug}/customers/{keep}")).text.count('data-testid="customer-order"') == 2
    twice = await client.post(f"/s/{shop.slug}/customers/merges/{undo}/undo", data={"_csrf_token": csrf(client)})
    assert twice.status_code == 422
    no_csrf = await client.post(f"/s/{shop.slug}/customers/merge", data={"survivor": keep, "merged": drop})
    assert no_csrf.status_code == 403
