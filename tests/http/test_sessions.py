"""Sign-in and sessions: a growing delay instead of a lock-out, X-Forwarded-For only from trusted
proxies, Secure cookies outside a localhost development run, no-store on private pages, no /schema."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import httpx
import pytest

from app.asgi import create_app
from app.services.auth import address_bucket, pair_key
from app.tables.control import KvEntry
from app.web.clients import forwarded_client, parse_networks
from tests.conftest import PASSWORD, login, make_store

pytestmark = pytest.mark.http

# Expected texts, written from the translators' side (the catalogs), not read back from the code.
THROTTLED = {
    "en": "Too many failed attempts. Try again in",
    "ru": "Слишком много неудачных попыток. Повторите через",
    "uk": "Забагато невдалих спроб. Спробуйте ще раз через",
}
WRONG = {"en": "Wrong e-mail or password", "ru": "Неверный e-mail или пароль", "uk": "Неправильний e-mail або пароль"}


@asynccontextmanager
async def client_at(app, address: str, base_url: str = "http://127.0.0.1:8000") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        await client.get("/login")
        yield client


async def attempt(client: httpx.AsyncClient, email: str, password: str, lang: str = "en", **headers: str):
    data = {"email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")}
    return await client.post(f"/login?lang={lang}", data=data, headers=headers)


async def time_passes(email: str, address: str, seconds: int) -> None:
    """Move the pair's last attempt ``seconds`` into the past (the clock is the test's)."""
    moved = await KvEntry.raw(
        "UPDATE kv_entry SET expires_at = expires_at - make_interval(secs => {}) WHERE key = {} RETURNING key",
        seconds,
        f"ratelimit:{pair_key(email, address)}",
    )
    assert moved


@pytest.fixture(scope="module")
def slow_app(settings, runtime):
    """The app with a first delay of a minute, so a slow machine cannot outwait it by accident."""
    return create_app(replace(settings, login_first_delay_seconds=60, login_max_delay_seconds=3600))


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_failed_logins_make_the_address_wait_longer_each_time_but_never_lock_the_owner_out(
    slow_app, lang: str
) -> None:
    store = await make_store(f"delay-{lang}")
    attacker = f"198.51.100.{ {'ru': 1, 'uk': 2, 'en': 3}[lang] }"
    async with client_at(slow_app, attacker) as stranger:
        for _ in range(5):  # the free attempts
            response = await attempt(stranger, store.email, "wrong-password-1", lang)
            assert response.status_code == 422 and WRONG[lang] in response.text
        response = await attempt(stranger, store.email, PASSWORD, lang)  # even the right password waits
        assert response.status_code == 429
        wait = int(response.headers["retry-after"])
        assert 50 <= wait <= 60
        assert THROTTLED[lang] in response.text and f" {wait} " in response.text.replace("\xa0", " ")
        assert "session" not in stranger.cookies

        # The owner, elsewhere, is not held up by the stranger's failures.
        async with client_at(slow_app, "203.0.113.50") as owner:
            assert (await attempt(owner, store.email, PASSWORD, lang)).status_code == 303

        # A minute later the address may try once more; the next wait is twice as long.
        await time_passes(store.email, attacker, 60)
        assert (await attempt(stranger, store.email, "wrong-password-2", lang)).status_code == 422
        response = await attempt(stranger, store.email, PASSWORD, lang)
        assert response.status_code == 429 and 110 <= int(response.headers["retry-after"]) <= 120

        # After that wait the right password works, and a success starts the count afresh.
        await time_passes(store.email, attacker, 120)
        assert (await attempt(stranger, store.email, PASSWORD, lang)).status_code == 303
    async with client_at(slow_app, attacker) as again:
        for _ in range(5):
            assert (await attempt(again, store.email, "wrong-password-3", lang)).status_code == 422


async def test_parallel_guesses_cannot_slip_past_the_delay(slow_app) -> None:
    store = await make_store("delay-parallel")
    async with client_at(slow_app, "198.51.100.20") as stranger:
        answers = await asyncio.gather(*(attempt(stranger, store.email, f"guess-{i}-wrong") for i in range(12)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(422) == 5 and codes.count(429) == 7  # the five free ones, then the minute's wait


async def test_an_address_guessing_across_many_accounts_waits_too(settings, runtime) -> None:
    store = await make_store("delay-spray")
    spray = create_app(replace(settings, login_address_attempts=3, login_first_delay_seconds=60))
    async with client_at(spray, "198.51.100.25") as stranger:
        for i in range(3):
            assert (await attempt(stranger, f"nobody{i}@spray.example.com", "wrong-password-1")).status_code == 422
        response = await attempt(stranger, store.email, "wrong-password-1", "ru")
        assert response.status_code == 429 and THROTTLED["ru"] in response.text
    async with client_at(spray, "203.0.113.25") as owner:
        assert (await attempt(owner, store.email, PASSWORD)).status_code == 303


async def test_the_htmx_login_form_shows_the_wait(slow_app) -> None:
    store = await make_store("delay-htmx")
    async with client_at(slow_app, "198.51.100.30") as stranger:
        for _ in range(5):
            await attempt(stranger, store.email, "wrong-password-1", "uk")
        response = await attempt(stranger, store.email, "wrong-password-1", "uk", **{"HX-Request": "true"})
    assert response.status_code == 429 and response.headers["retry-after"]
    assert response.text.lstrip().startswith("<form") and THROTTLED["uk"] in response.text


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(app, settings) -> None:
    store = await make_store("forwarded")
    # No trusted proxies: a client that sends X-Forwarded-For is still counted on its own address.
    async with client_at(app, "198.51.100.40") as stranger:
        for i in range(6):
            response = await attempt(stranger, store.email, "wrong-password-1", **{"X-Forwarded-For": f"192.0.2.{i}"})
        assert response.status_code == 429
    # Behind a trusted proxy the forwarded address is the client: another shopper is not delayed.
    proxied = create_app(replace(settings, trusted_proxies=("10.9.0.0/16",)))
    async with client_at(proxied, "10.9.0.7") as proxy:
        for _ in range(6):
            response = await attempt(proxy, store.email, "wrong-password-1", **{"X-Forwarded-For": "192.0.2.77"})
        assert response.status_code == 429
        owner = await attempt(proxy, store.email, PASSWORD, **{"X-Forwarded-For": "spoofed, 192.0.2.78"})
        assert owner.status_code == 303


def test_the_client_is_the_right_most_hop_no_trusted_proxy_added() -> None:
    proxies = parse_networks(["10.0.0.0/8", "2001:db8::1"])
    assert forwarded_client("203.0.113.5", ["1.2.3.4"], proxies) == "203.0.113.5"  # peer is no proxy
    assert forwarded_client("10.0.0.2", ["1.2.3.4, 198.51.100.9"], proxies) == "198.51.100.9"
    assert forwarded_client("10.0.0.2", ["198.51.100.9", "10.0.0.3"], proxies) == "198.51.100.9"
    assert forwarded_client("2001:db8::1", ["198.51.100.9"], proxies) == "198.51.100.9"
    assert forwarded_client("10.0.0.2", ["not-an-ip, 10.0.0.3"], proxies) == "10.0.0.3"
    assert forwarded_client("10.0.0.2", [], proxies) == "10.0.0.2"
    with pytest.raises(ValueError, match="not an address"):
        parse_networks(["10.0.0.0/8", "example.com"])


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


async def test_cookies_are_secure_except_on_plain_http_to_localhost(app, store_a) -> None:
    async with client_at(app, "127.0.0.1") as dev:
        page = await dev.get("/login")
        assert "csrftoken" in _set_cookies(page) or dev.cookies.get("csrftoken")
        dev.cookies.clear()
        page = await dev.get("/login")
        assert not re.search(r";\s*secure", _set_cookies(page)["csrftoken"], re.I)
    for base in ("https://crm.example.com", "http://crm.example.com"):
        async with client_at(app, "198.51.100.60", base_url=base) as remote:
            remote.cookies.clear()
            page = await remote.get("/login")
            assert re.search(r";\s*secure", _set_cookies(page)["csrftoken"], re.I), base
            if base.startswith("https"):
                await remote.get("/login")
                response = await attempt(remote, store_a.email, PASSWORD)
                assert response.status_code == 303
                assert re.search(r";\s*secure", _set_cookies(response)["session"], re.I)
                language = await remote.get("/lang/uk")
                assert re.search(r";\s*secure", _set_cookies(language)["lang"], re.I)


async def test_an_https_public_url_makes_cookies_secure_even_on_localhost(settings, runtime) -> None:
    public = create_app(replace(settings, public_url="https://crm.example.com"))
    async with client_at(public, "127.0.0.1") as client:
        client.cookies.clear()
        page = await client.get("/login")
    assert re.search(r";\s*secure", _set_cookies(page)["csrftoken"], re.I)


async def test_a_tls_proxy_on_localhost_makes_cookies_secure(settings, runtime) -> None:
    proxied = create_app(replace(settings, trusted_proxies=("127.0.0.1",)))
    async with client_at(proxied, "127.0.0.1") as client:
        client.cookies.clear()
        page = await client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert re.search(r";\s*secure", _set_cookies(page)["csrftoken"], re.I)


async def test_staff_pages_and_order_pages_are_never_stored(client, store_a) -> None:
    await login(client, store_a.email)
    for path in (f"/s/{store_a.slug}/", f"/s/{store_a.slug}/orders", "/login", f"/f/{store_a.slug}/o/no-such-token"):
        response = await client.get(path)
        assert response.headers.get("cache-control") == "no-store", path
    fragment = await client.get(f"/s/{store_a.slug}/orders", headers={"HX-Request": "true"})
    assert fragment.headers.get("cache-control") == "no-store"
    assert "no-store" not in (await client.get("/static/css/app.css")).headers.get("cache-control", "")


async def test_the_openapi_schema_is_not_served(client) -> None:
    for path in ("/schema", "/schema/openapi.json", "/schema/swagger"):
        assert (await client.get(path)).status_code == 404, path


async def test_the_longest_e_mail_is_counted_without_a_server_error(client) -> None:
    await client.get("/login")
    email = "a" * 64 + "@" + ".".join(["b" * 62] * 3) + ".example"
    response = await attempt(client, email[:254], "wrong-password-1", "uk")
    assert response.status_code == 422 and WRONG["uk"] in response.text


def test_an_ipv6_client_counts_as_its_whole_64() -> None:
    assert address_bucket("2001:db8:1:2:aaaa::1") == address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:3::1") != address_bucket("2001:db8:1:2::1")
    assert address_bucket("::ffff:198.51.100.7") == "198.51.100.7"
    assert address_bucket("198.51.100.7") == "198.51.100.7"
