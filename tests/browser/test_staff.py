"""In a real browser: the owner invites a manager, the manager accepts from the e-mailed link and logs in,
and an order placed through the hosted form goes to that manager and shows in their orders; the task an
automation rule makes for the order's manager shows in the manager's tasks."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.browser

MANAGER = "mila.manager@example.com"


async def wait_for_mail(sink, address: str, seconds: float = 20) -> str:
    for _attempt in range(int(seconds * 5)):
        mails = sink.to(address)
        if mails:
            text = mails[-1].get_body(("plain",)).get_content()
            return re.search(r"https?://\S+/join/\S+", text).group(0)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no invitation e-mail reached {address}")


async def log_in(page, live_server: str, address: str) -> None:
    await page.goto(f"{live_server}/login")
    await page.fill("#f-email", address)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(re.compile(r".*/s/.*"))


async def test_owner_invites_manager_who_gets_the_next_form_order(
    live_server, mail_sink, browser, runtime, tmp_path
) -> None:
    sink, _port = mail_sink
    shop = await seeded_store("team-shop", tmp_path)
    owner = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = await owner.new_page()
    await log_in(page, live_server, shop.email)
    await page.click("[data-testid=nav-staff\\:list]")
    await page.wait_for_url(f"{live_server}/s/{shop.slug}/staff/")
    await page.locator("[data-testid=invite-form]").wait_for()
    await page.fill("[data-testid=invite-form] #f-email", MANAGER)
    await page.select_option("[data-testid=invite-form] #f-role", "manager")
    await page.select_option("[data-testid=invite-form] #f-scope", "own")
    await page.click("[data-testid=invite-send]")
    await page.locator("[data-testid=invite-sent]").wait_for()
    await page.check("[data-testid=mode-round_robin]")
    await page.click("[data-testid=distribution-save]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("[data-testid=mode-round_robin]").is_checked()
    await page.screenshot(path=shot("staff-owner"), full_page=True)
    # A rule: every new order gets a call task for whoever the order went to.
    await page.goto(f"{live_server}/s/{shop.slug}/settings/automation/new")
    await page.fill("#f-name", "Call new customers")
    await page.select_option("#f-event", "order_created")
    await page.select_option("#f-action", "create_task")
    await page.fill("#f-task_title", "Call {customer} about order {number}")
    await page.select_option("#f-task_assignee", "manager")
    await page.fill("#f-task_due_hours", "1")
    await page.click("[data-testid=rule-save]")
    await page.locator("[data-testid=rule-saved]").wait_for()

    link = await wait_for_mail(sink, MANAGER)
    assert link.startswith(live_server)
    manager = await browser.new_context(viewport={"width": 390, "height": 844})
    mpage = await manager.new_page()
    await mpage.goto(link)
    await mpage.fill("#f-name", "Mila Manager")
    await mpage.fill("#f-password", PASSWORD)
    await mpage.fill("#f-password2", PASSWORD + "typo")
    await mpage.click("[data-testid=join-accept]")
    await mpage.locator("[data-testid=error-password2]").wait_for()
    await mpage.fill("#f-password", PASSWORD)
    await mpage.fill("#f-password2", PASSWORD)
    await mpage.click("[data-testid=join-accept]")
    await mpage.wait_for_url(f"{live_server}/s/{shop.slug}/")
    await manager.close()

    # The manager logs in afresh, as they would tomorrow.
    manager = await browser.new_context(viewport={"width": 390, "height": 844})
    mpage = await manager.new_page()
    await log_in(mpage, live_server, MANAGER)
    assert await mpage.locator("[data-testid=nav-settings\\:index]").count() == 0  # not a manager's area

    shopper = await browser.new_context(viewport={"width": 390, "height": 844})
    spage = await shopper.new_page()
    await spage.goto(f"{live_server}/f/{shop.slug}/order?lang=en")
    await spage.locator("[data-testid=qty-K-1]").fill("1")
    await spage.locator("[data-testid=field-name]").fill("Shopper Sam")
    await spage.locator("[data-testid=field-phone]").fill("+7 912 765-43-21")
    await spage.locator("[data-testid=order-submit]").click()
    number = (await spage.locator("[data-testid=order-number]").inner_text()).strip().lstrip("№ ").strip()
    await shopper.close()

    await mpage.goto(f"{live_server}/s/{shop.slug}/orders/")
    row = mpage.locator("[data-testid=order-row]", has_text="Shopper Sam")
    await row.wait_for()
    assert number.split()[-1] in await row.inner_text()
    assert "Mila Manager" in await row.locator("[data-testid=order-row-manager]").inner_text()
    await mpage.screenshot(path=shot("staff-manager-orders"), full_page=True)
    await row.locator("a").first.click()
    await mpage.locator("[data-testid=order-manager]").wait_for()
    assert "Mila Manager" in await mpage.locator("[data-testid=order-manager]").inner_text()

    title = f"Call Shopper Sam about order {number.split()[-1]}"
    for _attempt in range(40):  # the server's worker runs the rule right after the order
        await mpage.goto(f"{live_server}/s/{shop.slug}/tasks/?view=mine")
        if await mpage.locator("[data-testid=task-title]", has_text=title).count():
            break
        await mpage.wait_for_timeout(500)
    await mpage.locator("[data-testid=task-title]", has_text=title).wait_for()
    await mpage.screenshot(path=shot("staff-manager-tasks"), full_page=True)
    await manager.close()
    await owner.close()
