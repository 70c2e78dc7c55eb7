"""Invitations by e-mail link: sent through SMTP, accepted once, expired/reused/forged links refused, bad input
answered in the user's language, an existing account joins after login; store A's link means nothing on B."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from app import jobs
from app.i18n import translations
from app.services import invitations, staff
from app.tables.stores import StaffInvitation
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import PASSWORD, csrf, login, make_store
from tests.factories import SECRET

pytestmark = pytest.mark.http


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def sink(monkeypatch):
    box = Sink()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(port))
    yield box
    controller.stop()


@pytest.fixture(scope="module")
async def shop(runtime):
    return await make_store("invite-shop", locale="ru")


async def invite(client, slug: str, address: str, role: str = "manager", scope: str = "own") -> int:
    response = await client.post(
        f"/s/{slug}/staff/invitations",
        data={"_csrf_token": csrf(client), "email": address, "role": role, "scope": scope},
    )
    assert response.status_code == 303, response.text[-400:]
    return int(response.headers["location"].rsplit("=", 1)[1])


def link_in(message: email.message.EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://\S+/join/\S+", text).group(0).replace("http://127.0.0.1:8000", "")


async def test_invited_manager_joins_once_by_the_emailed_link(client, shop, sink) -> None:
    await login(client, shop.email)
    await client.get("/lang/en")
    await invite(client, shop.slug, "new.manager@example.com")
    await jobs.run_worker(wait=False)
    [message] = [m for m in sink.messages if m["To"].addresses[0].addr_spec == "new.manager@example.com"]
    assert "Join Store invite-shop" in message["Subject"] and message["Content-Language"] == "en"
    link = link_in(message)
    await client.post("/logout", data={"_csrf_token": csrf(client)})

    page = await client.get(link)
    assert page.status_code == 200 and 'data-testid="join-form"' in page.text and 'name="password2"' in page.text
    bad = await client.post(link, data={"_csrf_token": csrf(client), "name": "", "password": "x", "password2": "y"})
    assert bad.status_code == 422
    assert 'data-testid="error-name"' in bad.text and 'data-testid="error-password"' in bad.text
    mismatch = await client.post(
        link, data={"_csrf_token": csrf(client), "name": "Mia", "password": PASSWORD, "password2": PASSWORD + "!"}
    )
    assert mismatch.status_code == 422 and 'data-testid="error-password2"' in mismatch.text

    joined = await client.post(
        link, data={"_csrf_token": csrf(client), "name": "Mia Manager", "password": PASSWORD, "password2": PASSWORD}
    )
    assert joined.status_code == 303 and joined.headers["location"] == f"/s/{shop.slug}/"
    assert (await client.get(f"/s/{shop.slug}/orders/")).status_code == 200
    async with tenancy.bind_tenant(shop.tenant):
        [mia] = [m for m in await staff.members() if m.email == "new.manager@example.com"]
    assert (mia.name, mia.role, mia.scope, mia.on_shift) == ("Mia Manager", "manager", "own", True)
    assert (await client.get(f"/s/{shop.slug}/staff/")).status_code == 200  # managers see staff
    assert (await client.get(f"/s/{shop.slug}/settings/store")).status_code == 403

    await client.post("/logout", data={"_csrf_token": csrf(client)})
    reused = await client.get(link)
    assert reused.status_code == 409 and 'data-testid="join-problem"' in reused.text
    again = await client.post(
        link, data={"_csrf_token": csrf(client), "name": "Eve", "password": PASSWORD, "password2": PASSWORD}
    )
    assert again.status_code == 409


async def test_bad_input_is_answered_in_the_users_language(client, shop) -> None:
    await login(client, shop.email)
    await client.get("/lang/uk")
    bad = await client.post(
        f"/s/{shop.slug}/staff/invitations",
        data={"_csrf_token": csrf(client), "email": "not-an-address", "role": "emperor", "scope": "own"},
    )
    assert bad.status_code == 422
    expected = translations("uk").ugettext("Enter a valid e-mail address, like name@example.com.")
    assert expected != "Enter a valid e-mail address, like name@example.com." and expected in bad.text
    assert 'data-testid="error-role"' in bad.text
    member = await client.post(
        f"/s/{shop.slug}/staff/invitations",
        data={"_csrf_token": csrf(client), "email": shop.email, "role": "manager", "scope": "all"},
    )
    assert (
        member.status_code == 422
        and translations("uk").ugettext("This person is already a member of the store.") in member.text
    )


async def test_expired_revoked_and_forged_links_are_refused(client, shop) -> None:
    await login(client, shop.email)
    expired_id = await invite(client, shop.slug, "late@example.com")
    revoked_id = await invite(client, shop.slug, "revoked@example.com")
    async with tenancy.bind_tenant(shop.tenant):
        await StaffInvitation.update({StaffInvitation.expires_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
            StaffInvitation.id == expired_id
        )
        expired = await StaffInvitation.select().where(StaffInvitation.id == expired_id).first()
        revoked = await StaffInvitation.select().where(StaffInvitation.id == revoked_id).first()
    expired_link = f"/s/{shop.slug}/join/{invitations.invitation_token(SECRET, shop.slug, expired)}"
    revoked_link = f"/s/{shop.slug}/join/{invitations.invitation_token(SECRET, shop.slug, revoked)}"
    assert (
        await client.post(f"/s/{shop.slug}/staff/invitations/{revoked_id}/revoke", data={"_csrf_token": csrf(client)})
    ).status_code == 303
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    gone = await client.get(expired_link)
    assert gone.status_code == 409 and 'data-testid="join-problem"' in gone.text
    assert (await client.get(revoked_link)).status_code == 404
    forged = expired_link[:-4] + ("AAAA" if not expired_link.endswith("AAAA") else "BBBB")
    assert (await client.get(forged)).status_code == 404
    for junk in ("x", "1.", ".abc", "99999999999.abc", "1" * 300):
        assert (await client.get(f"/s/{shop.slug}/join/{junk}")).status_code == 404
    post = await client.post(
        expired_link, data={"_csrf_token": csrf(client), "name": "L", "password": PASSWORD, "password2": PASSWORD}
    )
    assert post.status_code == 409
    async with tenancy.bind_tenant(shop.tenant):
        assert "late@example.com" not in {m.email for m in await staff.members(active_only=False)}


async def test_existing_account_joins_after_login(client, shop, store_b) -> None:
    await login(client, shop.email)
    await invite(client, shop.slug, store_b.email, role="analyst", scope="all")
    async with tenancy.bind_tenant(shop.tenant):
        row = await StaffInvitation.select().where(StaffInvitation.email == store_b.email).first()
    link = f"/s/{shop.slug}/join/{invitations.invitation_token(SECRET, shop.slug, row)}"
    # Someone else's session cannot take it.
    wrong = await client.post(link, data={"_csrf_token": csrf(client)})
    assert wrong.status_code == 422 and 'data-testid="form-error"' in wrong.text
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    page = await client.get(link)
    assert 'data-testid="join-login"' in page.text and 'name="password2"' not in page.text
    blind = await client.post(
        link, data={"_csrf_token": csrf(client), "name": "X", "password": PASSWORD, "password2": PASSWORD}
    )
    assert blind.status_code == 422
    await login(client, store_b.email)
    joined = await client.post(link, data={"_csrf_token": csrf(client)})
    assert joined.status_code == 303
    assert (await client.get(f"/s/{shop.slug}/staff/audit")).status_code == 200  # analysts read the audit log
    assert (await client.get(f"/s/{shop.slug}/staff/")).status_code == 403
    assert (await client.get(f"/s/{store_b.slug}/staff/")).status_code == 200  # still owner of their own store


async def test_store_a_invitation_means_nothing_on_store_b(client, shop, store_b) -> None:
    await login(client, shop.email)
    await invite(client, shop.slug, "cross@example.com")
    async with tenancy.bind_tenant(shop.tenant):
        row = await StaffInvitation.select().where(StaffInvitation.email == "cross@example.com").first()
    token = invitations.invitation_token(SECRET, shop.slug, row)
    await client.post("/logout", data={"_csrf_token": csrf(client)})
    assert (await client.get(f"/s/{store_b.slug}/join/{token}")).status_code == 404
    attempt = await client.post(
        f"/s/{store_b.slug}/join/{token}",
        data={"_csrf_token": csrf(client), "name": "C", "password": PASSWORD, "password2": PASSWORD},
    )
    assert attempt.status_code == 404
    assert (await client.get(f"/s/{shop.slug}/join/{token}")).status_code == 200  # still good at home
