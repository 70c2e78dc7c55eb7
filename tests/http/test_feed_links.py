"""The feed link on the imports page: a link that cannot be parsed is refused with a translated message
next to the field, and one saved earlier is shown with its problem."""

from __future__ import annotations

import pytest

from app.tables.imports import FeedSource
from app.tenancy import runtime as tenancy
from tests.conftest import csrf, login, make_store

pytestmark = pytest.mark.http

# Written from the catalogs' side: what a Russian, Ukrainian or English reader must see.
NOT_AN_IP = {"ru": "не является правильным IP-адресом", "uk": "не є правильною IP-адресою", "en": "is not a valid IP"}
SPACES = {"ru": "В ссылке есть пробелы", "uk": "У посиланні є пробіли", "en": "The link contains spaces"}


@pytest.fixture(scope="module")
async def feed_store(runtime):
    return await make_store("feed-links")


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
@pytest.mark.parametrize(
    ("url", "expected"), [("http://0177.0.0.1/feed.xml", NOT_AN_IP), ("https://example.com/my feed.xml", SPACES)]
)
@pytest.mark.parametrize("htmx", [False, True])
async def test_an_unparseable_feed_link_is_refused_next_to_the_field(
    client, feed_store, lang: str, url: str, expected: dict[str, str], htmx: bool
) -> None:
    await login(client, feed_store.email)
    async with tenancy.bind_tenant(feed_store.tenant):
        before = await FeedSource.select()
    headers = {"HX-Request": "true"} if htmx else {}
    response = await client.post(
        f"/s/{feed_store.slug}/imports/feed?lang={lang}",
        data={"url": url, "schedule": "daily", "action": "run", "_csrf_token": csrf(client)},
        headers=headers,
    )
    assert response.status_code == 422
    assert expected[lang] in response.text
    async with tenancy.bind_tenant(feed_store.tenant):
        assert await FeedSource.select() == before  # nothing saved, nothing queued


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_a_link_saved_before_the_rules_shows_its_problem_on_the_imports_page(client, runtime, lang: str) -> None:
    store = await make_store(f"feed-old-{lang}")
    async with tenancy.bind_tenant(store.tenant):
        await FeedSource.insert(FeedSource(url="http://0x7f.1/feed.xml", schedule="daily"))
    await login(client, store.email)
    page = await client.get(f"/s/{store.slug}/imports/?lang={lang}")
    assert page.status_code == 200
    assert "0x7f.1" in page.text and NOT_AN_IP[lang] in page.text
