"""Every page renders in ru, en and uk with no English text left untranslated in ru and uk."""

from __future__ import annotations

import html
import re

import pytest
from babel.messages.pofile import read_po

from app import i18n
from app.forms.staff import InviteData
from app.services import invitations
from app.tenancy import runtime as tenancy
from tests.conftest import login
from tests.factories import SECRET

pytestmark = pytest.mark.http

PUBLIC = ["/", "/signup", "/login", "/no-such-page"]
STAFF = [
    "/stores",
    "/s/{slug}/",
    "/s/{slug}/?period=year&by=month",
    "/s/{slug}/reports",
    "/s/{slug}/reports?period=90d",
    "/s/{slug}/settings/store",
    "/s/{slug}/settings/forms/",
    "/s/{slug}/settings/forms/order",
    "/s/{slug}/settings/statuses/",
    "/s/{slug}/settings/payments/?code=yookassa",
    "/s/{slug}/orders/new",
    "/s/{slug}/orders/",
    "/s/{slug}/orders/?view=board",
    "/s/{slug}/products/",
    "/s/{slug}/customers/",
    "/s/{slug}/customers/duplicates",
    "/s/{slug}/customers/import",
    "/s/{slug}/segments/",
    "/s/{slug}/segments/new",
    "/s/{slug}/segments/new?kind=static",
    "/s/{slug}/segments/portrait",
    "/s/{slug}/imports/",
    "/s/{slug}/staff/",
    "/s/{slug}/staff/audit",
    "/s/{slug}/tasks/",
    "/s/{slug}/tasks/?view=overdue",
    "/s/{slug}/tasks/?layout=board",
    "/s/{slug}/tasks/?layout=board&by=assignee",
    "/s/{slug}/tasks/?layout=calendar",
    "/s/{slug}/tasks/new",
    "/s/{slug}/settings/automation/",
    "/s/{slug}/settings/automation/new",
    "/s/{slug}/staff/results/",
    "/f/{slug}/order?lang={locale}",
]


def english_phrases(locale: str) -> list[str]:
    """Message ids whose translation differs, long enough to be unmistakable in a page."""
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    phrases = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or "%(" in message.id:
            continue
        if message.string != message.id and len(message.id.split()) >= 2:
            phrases.append(message.id)
    return phrases


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("locale", i18n.LOCALES)
async def test_every_page_renders_translated(client, store_a, locale: str) -> None:
    await client.get(f"/lang/{locale}")
    pages = {}
    for path in PUBLIC:
        pages[path] = await client.get(path)
    await login(client, store_a.email)
    for path in STAFF:
        pages[path] = await client.get(path.format(slug=store_a.slug, locale=locale))
    for path, response in pages.items():
        assert response.status_code == (404 if "no-such" in path else 200), path
        assert f'<html lang="{locale}">' in response.text, path
        if locale == "en":
            continue
        text = visible_text(response.text)
        leaked = [phrase for phrase in english_phrases(locale) if phrase in text]
        assert not leaked, f"{locale} {path}: untranslated {leaked[:5]}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
async def test_invitation_page_renders_translated(client, store_a, locale: str) -> None:
    async with tenancy.bind_tenant(store_a.tenant):
        _row, token = await invitations.invite(
            InviteData(f"i18n-{locale}@example.com", "manager", "all"),
            secret=SECRET, slug=store_a.slug, locale=locale, actor_id=store_a.identity_id, actor_role="owner",
        )  # fmt: skip
    await client.get(f"/lang/{locale}")
    response = await client.get(f"/s/{store_a.slug}/join/{token}")
    assert response.status_code == 200 and f'<html lang="{locale}">' in response.text
    if locale != "en":
        text = visible_text(response.text)
        leaked = [phrase for phrase in english_phrases(locale) if phrase in text]
        assert not leaked, f"{locale} join page: untranslated {leaked[:5]}"


async def test_store_a_pages_never_show_store_b(client, store_a, store_b) -> None:
    await login(client, store_a.email)
    for path in STAFF:
        response = await client.get(path.format(slug=store_a.slug, locale="en"))
        assert store_b.tenant.name not in response.text
