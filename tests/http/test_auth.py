"""Sign-up, login, logout, language, sessions and store isolation over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from app.tables.control import Identity, KvEntry, Tenant
from app.web.sessions import RENEW_EVERY
from tests.conftest import PASSWORD, csrf, login, make_store

pytestmark = pytest.mark.http


def signup_form(client, **overrides: str) -> dict[str, str]:
    form = {
        "store_name": "Ромашка",
        "slug": "romashka",
        "email": "owner@romashka.example.com",
        "password": PASSWORD,
        "locale": "ru",
        "currency": "RUB",
        "country": "RU",
        "_csrf_token": csrf(client),
    }
    form.update(overrides)
    return form


async def counts() -> tuple[int, int]:
    return await Tenant.count(), await Identity.count()


async def test_signup_creates_database_role_and_lands_on_dashboard(client, settings, runtime) -> None:
    await client.get("/signup")
    response = await client.post("/signup", data=signup_form(client, slug="fresh-shop", email="o@fresh.example.com"))
    assert response.status_code == 303, response.text[-3000:]
    assert response.headers["location"] == "/s/fresh-shop/"
    page = await client.get("/s/fresh-shop/")
    assert page.status_code == 200
    assert 'data-testid="store-name">Ромашка<' in page.text
    name = f"{settings.db.prefix}_s_fresh_shop"
    conn = await asyncpg.connect(runtime.primary_dsn)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        assert await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
        public_connect = await conn.fetchval("SELECT has_database_privilege('public', $1, 'CONNECT')", name)
        assert public_connect is False
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("field", "value", "locale", "expected"),
    [
        ("slug", "store-a", "en", "already taken"),
        ("slug", "admin", "ru", "зарезервирован"),
        ("slug", "Bad_Slug!", "uk", "латинськ"),
        ("password", "short", "en", "at least 10"),
        ("password", "aaaaaaaaaaaaaa", "ru", "слишком простой"),
        ("email", "not-an-email", "uk", "електронної"),
        ("store_name", "x" * 10_240, "en", "Too long"),
        ("email", "a" * 10_240 + "@x.example.com", "ru", "Слишком длинно"),
    ],
)
async def test_bad_signup_input_gets_clear_error_in_chosen_language_and_creates_nothing(
    client, store_a, field, value, locale, expected
) -> None:
    await client.get(f"/signup?lang={locale}")
    before = await counts()
    response = await client.post(f"/signup?lang={locale}", data=signup_form(client, **{field: value}))
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in response.text
    assert expected.lower() in response.text.lower()
    assert await counts() == before


async def test_signup_with_existing_email_asks_to_log_in_and_creates_nothing(client, store_a) -> None:
    await client.get("/signup")
    before = await counts()
    response = await client.post("/signup?lang=en", data=signup_form(client, slug="other-one", email=store_a.email))
    assert response.status_code == 422
    assert "already exists" in response.text
    assert await counts() == before


async def test_htmx_signup_returns_fragment_with_errors(client) -> None:
    await client.get("/signup")
    response = await client.post("/signup?lang=en", data=signup_form(client, slug="a"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.text.lstrip().startswith("<form")
    assert 'id="signup-form"' in response.text
    assert "HX-Request" in response.headers.get("vary", "")


async def test_login_wrong_password_is_refused_and_the_right_one_still_works(client, runtime) -> None:
    # The growing delay after more failures is tested in tests/http/test_sessions.py.
    store_b = await make_store("rate-limited")  # its own account: its failures must not leak into other tests
    await client.get("/login")
    for _ in range(4):
        response = await client.post(
            "/login?lang=en", data={"email": store_b.email, "password": "wrong-password-1", "_csrf_token": csrf(client)}
        )
        assert response.status_code == 422
        assert "Wrong e-mail or password" in response.text
    response = await client.post(
        "/login?lang=en", data={"email": store_b.email, "password": PASSWORD, "_csrf_token": csrf(client)}
    )
    assert response.status_code == 303


async def test_form_without_csrf_token_is_refused(client) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"email": "x@y.example.com", "password": "whatever-123"})
    assert response.status_code == 403


async def test_login_rotates_session_and_logout_ends_it(client, store_a) -> None:
    client.cookies.set("session", "planted-by-attacker", domain="127.0.0.1", path="/")
    await login(client, store_a.email)
    assert client.cookies.get("session") != "planted-by-attacker"
    assert (await client.get(f"/s/{store_a.slug}/")).status_code == 200
    response = await client.post("/logout", data={"_csrf_token": csrf(client)})
    assert response.status_code == 303
    assert (await client.get(f"/s/{store_a.slug}/")).status_code == 303


async def test_a_session_ended_by_logout_cannot_be_replayed(client, store_a) -> None:
    await login(client, store_a.email)
    stolen = client.cookies.get("session")
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    client.cookies.delete("session")
    client.cookies.set("session", stolen, domain="127.0.0.1", path="/")
    assert (await client.get(f"/s/{store_a.slug}/")).status_code == 303
    assert await KvEntry.count().where(KvEntry.key.like(f"%:{stolen}")) == 0


async def test_visitors_without_a_session_get_no_session_row_or_cookie(client, store_a) -> None:
    before = await KvEntry.count()
    for path in (f"/f/{store_a.slug}/order", "/login", "/signup"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "session=" not in response.headers.get("set-cookie", "")
    assert await KvEntry.count() == before


async def test_an_unchanged_session_is_written_only_to_slide_its_expiry(client, store_a) -> None:
    """Reading pages does not write the session each time; it is renewed once it has aged."""
    await login(client, store_a.email)
    key = KvEntry.key.like(f"%:{client.cookies.get('session')}")
    first = (await KvEntry.select(KvEntry.expires_at).where(key).first())["expires_at"]
    for _ in range(3):
        assert (await client.get(f"/s/{store_a.slug}/orders/")).status_code == 200
    assert (await KvEntry.select(KvEntry.expires_at).where(key).first())["expires_at"] == first
    aged = datetime.now(UTC) + timedelta(days=14) - timedelta(seconds=RENEW_EVERY + 60)
    await KvEntry.update({KvEntry.expires_at: aged}).where(key)
    assert (await client.get(f"/s/{store_a.slug}/orders/")).status_code == 200
    renewed = (await KvEntry.select(KvEntry.expires_at).where(key).first())["expires_at"]
    assert renewed > first - timedelta(seconds=5) and renewed > aged


async def test_anonymous_staff_page_redirects_to_login(client, store_a) -> None:
    response = await client.get(f"/s/{store_a.slug}/")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/s/store-a"]


async def test_store_a_session_cannot_reach_store_b(client, store_a, store_b) -> None:
    await login(client, store_a.email)
    for path in (f"/s/{store_b.slug}/", f"/s/{store_b.slug}/settings/store"):
        response = await client.get(path)
        assert response.status_code == 404
        assert store_b.tenant.name not in response.text
    response = await client.post(
        f"/s/{store_b.slug}/settings/store", data={"name": "Hijacked", "_csrf_token": csrf(client)}
    )
    assert response.status_code == 404


async def test_staff_pages_cannot_be_framed(client, store_a) -> None:
    await login(client, store_a.email)
    for path in ("/", "/login", "/signup", f"/s/{store_a.slug}/"):
        response = await client.get(path)
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_language_switch_sets_cookie_and_translates(client) -> None:
    response = await client.get("/lang/uk?next=/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    page = await client.get("/login")
    assert '<html lang="uk">' in page.text


async def test_accept_language_picks_locale_when_no_choice(client) -> None:
    page = await client.get("/login", headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"})
    assert '<html lang="uk">' in page.text
    page = await client.get("/login", headers={"Accept-Language": "de-DE,en-US;q=0.8"})
    assert '<html lang="en">' in page.text


async def test_open_redirect_is_refused(client) -> None:
    response = await client.get("/lang/en?next=//evil.example/")
    assert response.headers["location"] == "/"


async def test_health_endpoints(client) -> None:
    assert (await client.get("/healthz")).text == "ok"
    assert (await client.get("/readyz")).status_code == 200


async def test_csrf_exemptions_do_not_leak_into_store_paths(client, runtime) -> None:
    lab = await make_store("metrics-lab")
    await login(client, lab.email)
    response = await client.post(f"/s/{lab.slug}/settings/store", data={"name": "Changed without a token"})
    assert response.status_code == 403


async def test_made_up_store_names_are_refused_without_a_lookup(client) -> None:
    assert (await client.get("/f/" + "x" * 300 + "/order")).status_code == 404
    assert (await client.get("/s/UPPER_case/")).status_code == 404
