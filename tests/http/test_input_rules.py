"""Hostile input on public and staff routes: a 4xx in the request's language, and nothing written."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.gateways.sandbox import SandboxGateway
from app.services import orders, payments
from app.services.imports import jobs as import_jobs
from app.tables.catalog import Offer
from app.tables.customers import Customer, CustomerEvent
from app.tables.forms import FormDraft
from app.tables.orders import Order
from app.tables.payments import PaymentEvent
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store
from tests.http.test_payments import KEYS, SECRET, signed
from tests.http.test_shop import open_form, seeded_store

pytestmark = pytest.mark.http

REFUSED = {
    "ru": "управляющие символы",
    "uk": "керівні символи",
}
LANGS = ["ru", "uk"]
PAST_INT64 = "99999999999999999999"


@pytest.fixture(scope="module")
async def shop(runtime, tmp_path_factory):
    return await seeded_store("rules-shop", tmp_path_factory.mktemp("rules"))


@pytest.fixture(scope="module")
async def hook_setup(runtime):
    """A store with a sandbox connection and one pending payment (as in test_payments)."""
    store = await make_store("rules-pay")
    async with tenancy.bind_tenant(store.tenant):
        connection_id = await payments.connect("sandbox", {"secret": SECRET}, keys=KEYS)
        order, _ = await orders.create_order(
            orders.OrderDraft(
                lines=(orders.LineDraft(None, "Чайник", "K-1", 100000, 1),), currency="RUB", phone="+79120001111"
            )
        )
        step = await payments.start(order["token"], connection_id, keys=KEYS)
    page = SandboxGateway({"secret": SECRET}, base_url=KEYS.public_url).verify_page(
        dict(parse_qsl(urlsplit(step.url).query))
    )
    return store, connection_id, page


@pytest.fixture(scope="module")
async def staff_store(runtime):
    return await make_store("rules-staff")


async def counts(store) -> dict[str, int]:
    async with tenancy.bind_tenant(store.tenant):
        return {
            "orders": await Order.count(),
            "customers": await Customer.count(),
            "events": await CustomerEvent.count(),
            "drafts": await FormDraft.count(),
            "tasks": await Task.count(),
        }


def refused_in(response, lang: str) -> None:
    assert response.status_code == 400, response.text[:500]
    assert f'<html lang="{lang}"' in response.text
    assert REFUSED[lang] in response.text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("field", ["name", "comment", "address", "phone"])
async def test_a_nul_in_the_order_form_is_refused_in_the_shoppers_language(client, shop, lang, field) -> None:
    token, offers, _ = await open_form(client, shop.slug)
    form = {"t": token, f"qty_{offers['K-1']}": "1", "name": "Иван", "phone": "+7 912 111 22 33", "delivery": "pickup"}
    form[field] = "Иван\x00'); DROP TABLE order;--"
    before = await counts(shop)
    response = await client.post(f"/f/{shop.slug}/order?lang={lang}", data=form)
    refused_in(response, lang)
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("quantity", ["²", "٣", "--1", str(10**20), "1_0", "+1"])
async def test_a_hostile_quantity_is_a_message_next_to_the_lines(client, shop, lang, quantity) -> None:
    token, offers, _ = await open_form(client, shop.slug)
    form = {
        "t": token,
        f"qty_{offers['K-1']}": quantity,
        "name": "Иван",
        "phone": "+7 912 111 22 33",
        "delivery": "pickup",
    }
    before = await counts(shop)
    response = await client.post(f"/f/{shop.slug}/order?lang={lang}", data=form)
    assert response.status_code == 422
    assert f'<html lang="{lang}"' in response.text and 'data-testid="error-lines"' in response.text
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
async def test_the_draft_endpoint_refuses_a_nul_and_keeps_nothing(client, shop, lang) -> None:
    token, _offers, _ = await open_form(client, shop.slug)
    before = await counts(shop)
    response = await client.post(
        f"/f/{shop.slug}/order/draft?lang={lang}", data={"t": token, "phone": "8 912 555-44-40", "name": "Лид\x00"}
    )
    refused_in(response, lang)
    escape = await client.post(
        f"/f/{shop.slug}/order/draft?lang={lang}", data={"t": token, "phone": "8 912 555-44-41", "name": "\x1b[2J"}
    )
    refused_in(escape, lang)
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
async def test_a_nul_or_broken_utf8_in_a_query_string_is_a_400(client, shop, lang) -> None:
    refused_in(await client.get(f"/f/{shop.slug}/order?lang={lang}&name=%00"), lang)
    refused_in(await client.get(f"/f/{shop.slug}/order?lang={lang}&q=%ff%fe"), lang)
    refused_in(await client.get(f"/f/{shop.slug}/order?lang={lang}&utm_source=%1b"), lang)


async def test_a_json_client_gets_problem_json_in_its_language(client, shop) -> None:
    response = await client.get(f"/f/{shop.slug}/order?lang=uk&q=%00", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and REFUSED["uk"] in problem["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/f/{slug}/o/tok%00en",
        "/f/{slug}/o/some-token/pay/" + PAST_INT64,
        "/f/{slug}/o/some-token/invoice/9223372036854775808",
        "/f/{slug}/o/some-token/invoice/2147483648",
        "/f/{slug}/o/some-token/invoice/%D9%A3",
    ],
)
async def test_public_paths_with_poison_or_ids_past_int64_are_not_found(client, shop, path) -> None:
    url = path.format(slug=shop.slug)
    response = await (client.post(url) if "/pay/" in url else client.get(url))
    assert response.status_code == 404


@pytest.mark.parametrize("lang", LANGS)
async def test_junk_and_nul_notifications_are_a_400_and_store_nothing(client, hook_setup, lang) -> None:
    store, connection_id, page = hook_setup
    url = f"/hooks/{store.slug}/sandbox/{connection_id}?lang={lang}"
    body, headers = signed(page, event="evt-\x00-nul")  # correctly signed, but the event id holds a NUL
    async with tenancy.bind_tenant(store.tenant):
        before = await PaymentEvent.count()
    for content, extra in [
        (body, headers),
        (b"\x00\x01\x02", {"Content-Type": "application/json"}),
        (b"{not json", {"Content-Type": "application/json"}),
        (b"\xff\xfe garbage", {"Content-Type": "text/plain"}),
        (json.dumps({"event_id": 1}).encode(), headers),
    ]:
        response = await client.post(url, content=content, headers=extra)
        assert response.status_code == 400, (content, response.status_code, response.text[:300])
    urlencoded = await client.post(url, content=b"a=%00", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert urlencoded.status_code == 400
    past = await client.post(f"/hooks/{store.slug}/sandbox/{PAST_INT64}", content=body, headers=headers)
    assert past.status_code == 404
    async with tenancy.bind_tenant(store.tenant):
        assert await PaymentEvent.count() == before


@pytest.mark.parametrize("lang", LANGS)
async def test_staff_query_strings_and_ids_past_int64_never_reach_the_database(client, staff_store, lang) -> None:
    await login(client, staff_store.email)
    base = f"/s/{staff_store.slug}"
    refused_in(await client.get(f"{base}/orders?lang={lang}&q=%00"), lang)
    refused_in(await client.get(f"{base}/customers?lang={lang}&city=%1b"), lang)
    for path in [
        f"/orders/{PAST_INT64}",
        "/customers/9223372036854775808",
        f"/orders/{2**40}",
        "/customers/%D9%A3",
        "/tasks/-1",
    ]:
        assert (await client.get(f"{base}{path}?lang={lang}")).status_code == 404, path


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "query",
    ["last_from=9999-12-31", "last_to=0001-01-01", "last_to=9999-12-31", "segment=" + PAST_INT64, "page=10%5E20"],
)
async def test_staff_filters_with_hostile_dates_and_numbers_answer_without_failing(
    client, staff_store, lang, query
) -> None:
    await login(client, staff_store.email)
    response = await client.get(f"/s/{staff_store.slug}/customers?lang={lang}&{query}")
    assert response.status_code < 500


@pytest.mark.parametrize("lang", LANGS)
async def test_a_nul_in_a_staff_form_writes_nothing(client, staff_store, lang) -> None:
    await login(client, staff_store.email)
    base = f"/s/{staff_store.slug}"
    before = await counts(staff_store)
    task = await client.post(
        f"{base}/tasks/new?lang={lang}", data={"title": "Позвонить\x00", "_csrf_token": csrf(client)}
    )
    refused_in(task, lang)
    order = await client.post(
        f"{base}/orders/new?lang={lang}",
        data={"name": "Анна", "phone": "+79120000000", "comment": "\x1b", "_csrf_token": csrf(client)},
    )
    refused_in(order, lang)
    assert await counts(staff_store) == before


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("field", "value"), [("due_at", "9999-12-31T23:59"), ("due_at", "0001-01-01T00:00"), ("reminder_at", "²")]
)
async def test_a_task_with_an_impossible_date_is_a_field_error(client, staff_store, lang, field, value) -> None:
    await login(client, staff_store.email)
    before = await counts(staff_store)
    response = await client.post(
        f"/s/{staff_store.slug}/tasks/new?lang={lang}",
        data={"title": "Позвонить", field: value, "_csrf_token": csrf(client)},
    )
    assert response.status_code == 422
    assert f'<html lang="{lang}"' in response.text and f'data-testid="error-{field}"' in response.text
    assert await counts(staff_store) == before


async def test_store_b_is_untouched(client, staff_store, store_b) -> None:
    await login(client, staff_store.email)
    assert (await client.get(f"/s/{store_b.slug}/orders")).status_code == 404


STAFF_PAGES = [
    "/customers?segment=%C2%B2",
    "/customers?segment=" + PAST_INT64,
    "/customers?last_from=9999-12-31&last_to=0001-01-01",
    "/customers/duplicates?page=%D9%A3",
    "/products/?category=" + PAST_INT64,
    "/products/?category=%C2%B2&page=--1",
    "/orders?page=10%5E20",
    "/reports/?from=0001-01-01&to=9999-12-31",
    "/reports/?from=%D9%A3&to=2026-01-01",
    "/?from=9999-12-30&to=9999-12-31",
    "/staff/results/?days=%C2%B2",
    "/staff/audit?actor=%D9%A3&from=9999-12-31&to=0001-01-01",
    "/tasks?view=month&month=%D9%A3-%D9%A3",
    "/tasks?view=month&month=99999999999999999999-1",
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", STAFF_PAGES)
async def test_staff_pages_take_hostile_query_values_without_failing(client, shop, lang, path) -> None:
    await login(client, shop.email)
    joiner = "&" if "?" in path else "?"
    response = await client.get(f"/s/{shop.slug}{path}{joiner}lang={lang}")
    assert response.status_code < 500, response.text[-800:]
    assert f'<html lang="{lang}"' in response.text


async def _offer_id(client, shop) -> str:
    _token, offers, _ = await open_form(client, shop.slug)
    return offers["K-1"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("price", ["1" * 40, "٣", "²", "10^20", "1e9", "99999999999999999"])
async def test_a_hostile_price_is_a_field_error_and_the_price_stays(client, shop, lang, price) -> None:
    await login(client, shop.email)
    offer_id = await _offer_id(client, shop)
    url = f"/s/{shop.slug}/products/{offer_id}?lang={lang}"
    before = (await client.get(url)).text.count('value="1290.50"')
    response = await client.post(url, data={"price": price, "stock": "²", "_csrf_token": csrf(client)})
    assert response.status_code == 422
    assert f'<html lang="{lang}"' in response.text
    assert 'data-testid="error-price"' in response.text and 'data-testid="error-stock"' in response.text
    assert (await client.get(url)).text.count('value="1290.50"') == before == 1


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("quantity", ["²", "٣", "--1", str(10**20)])
async def test_a_staff_order_with_a_hostile_quantity_places_nothing(client, shop, lang, quantity) -> None:
    await login(client, shop.email)
    before = await counts(shop)
    response = await client.post(
        f"/s/{shop.slug}/orders/new?lang={lang}",
        data={"name": "Анна", "phone": "+79120000000", "sku_0": "K-1", "qty_0": quantity, "_csrf_token": csrf(client)},
    )
    assert response.status_code == 422
    assert f'<html lang="{lang}"' in response.text and 'data-testid="error-qty_0"' in response.text
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01", "²"])
async def test_a_customer_task_with_an_impossible_due_date_is_a_field_error(client, shop, lang, due) -> None:
    await login(client, shop.email)
    async with tenancy.bind_tenant(shop.tenant):
        line = orders.LineDraft(None, "Чайник", "K-1", 129050, 1)
        await orders.create_order(orders.OrderDraft(lines=(line,), currency="RUB", phone="+79120002222"))
        customer = await Customer.select(Customer.id).where(Customer.phone == "+79120002222").first()
    before = await counts(shop)
    response = await client.post(
        f"/s/{shop.slug}/customers/{customer['id']}/tasks?lang={lang}",
        data={"task": "Перезвонить", "due": due, "_csrf_token": csrf(client)},
    )
    assert response.status_code == 422
    assert f'<html lang="{lang}"' in response.text and 'data-testid="error-due"' in response.text
    assert await counts(shop) == before


@pytest.mark.parametrize("token", ["².a.b", "٣.a.b", "99999999999999999999999.a.b", "--1.a.b"])
async def test_a_hostile_form_token_reads_as_expired(client, shop, token) -> None:
    _t, offers, _ = await open_form(client, shop.slug)
    before = await counts(shop)
    form = {"t": token, f"qty_{offers['K-1']}": "1", "name": "Иван", "phone": "+7 912 111 22 33", "delivery": "pickup"}
    response = await client.post(f"/f/{shop.slug}/order?lang=uk", data=form)
    assert response.status_code == 422 and 'data-testid="form-error"' in response.text
    assert await counts(shop) == before


async def test_a_catalog_csv_with_a_nul_cell_imports_the_other_rows_and_reports_it(runtime, tmp_path) -> None:
    store = await make_store("rules-csv")
    feed = tmp_path / "goods.csv"
    feed.write_bytes("sku,name,price\nA-1,Чайник,100\nB-2,Круж\x00ка,200\nC-3,Ложка,300\n".encode())
    async with tenancy.bind_tenant(store.tenant):
        mapping = {"sku": "sku", "external_id": "sku", "name": "name", "price": "price"}
        job_id = await import_jobs.create_job([feed], tmp_path, options={"mapping": mapping})
        await import_jobs.request_apply_now(job_id)
        assert (await import_jobs.run_job(job_id))["status"] == "done"
        assert sorted(r["sku"] for r in await Offer.select(Offer.sku)) == ["A-1", "C-3"]
        [issue] = [i for i in await import_jobs.issues(job_id) if i["code"] == "control_characters"]
        assert issue["line"] == 3


@pytest.mark.parametrize("lang", LANGS)
async def test_a_customer_csv_with_control_characters_is_refused_whole(client, shop, lang) -> None:
    await login(client, shop.email)
    before = await counts(shop)
    data = "name,phone\nОля,+7 912 777-10-01\nНи\x00кто,+7 912 777-10-02\nЭсц\x1b,+7 912 777-10-03\n".encode()
    response = await client.post(
        f"/s/{shop.slug}/customers/import?lang={lang}",
        files={"file": ("bad.csv", data, "text/csv")},
        data={"_csrf_token": csrf(client)},
    )
    assert response.status_code == 422 and f'<html lang="{lang}"' in response.text
    assert response.text.count('data-testid="import-error"') == 2 and REFUSED[lang] in response.text
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
async def test_malformed_multipart_and_a_wrong_content_type_are_4xx(client, shop, lang) -> None:
    await login(client, shop.email)
    before = await counts(shop)
    broken = await client.post(
        f"/s/{shop.slug}/customers/import?lang={lang}",
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
        headers={"Content-Type": "multipart/form-data; boundary=xyz", "x-csrftoken": csrf(client)},
    )
    assert 400 <= broken.status_code < 500
    token, offers, _ = await open_form(client, shop.slug)
    as_json = await client.post(
        f"/f/{shop.slug}/order?lang={lang}",
        content=json.dumps({"t": token, f"qty_{offers['K-1']}": "1", "phone": "+79121112233"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= as_json.status_code < 500
    as_text = await client.post(
        f"/f/{shop.slug}/order/draft?lang={lang}", content=b"\x00\x01", headers={"Content-Type": "text/plain"}
    )
    assert as_text.status_code == 415 and f'<html lang="{lang}"' in as_text.text
    assert await counts(shop) == before


@pytest.mark.parametrize("lang", LANGS)
async def test_a_nul_or_broken_utf8_in_a_multipart_field_is_a_400(client, shop, lang) -> None:
    token, offers, _ = await open_form(client, shop.slug)
    before = await counts(shop)
    fields = {"t": token, f"qty_{offers['K-1']}": "1", "phone": "+79121112244", "delivery": "pickup"}
    for poison in ["Иван\x00", "\x1b[2J"]:
        files = {key: (None, value) for key, value in {**fields, "name": poison}.items()}
        refused_in(await client.post(f"/f/{shop.slug}/order?lang={lang}", files=files), lang)
        refused_in(await client.post(f"/f/{shop.slug}/order/draft?lang={lang}", files=files), lang)
    broken = {**{key: (None, value) for key, value in fields.items()}, "name": (None, b"\xff\xfe")}
    refused_in(await client.post(f"/f/{shop.slug}/order?lang={lang}", files=broken), lang)
    await login(client, shop.email)
    upload = await client.post(
        f"/s/{shop.slug}/customers/import?lang={lang}",
        files={"file": ("ok.csv", b"name,phone\n", "text/csv"), "note": (None, "\x00")},
        headers={"x-csrftoken": csrf(client)},
    )
    refused_in(upload, lang)
    assert await counts(shop) == before
