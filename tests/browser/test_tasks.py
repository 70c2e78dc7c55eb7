"""In a real browser: the owner sets up rules (order created → assign a manager, → create a task for the
order's manager), a shopper orders through the hosted form, and the task shows in the manager's tasks."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot
from tests.conftest import PASSWORD
from tests.http.test_shop import seeded_store

pytestmark = pytest.mark.browser


async def login(page, live_server: str, email: str) -> None:
    await page.goto(f"{live_server}/login?lang=en")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{live_server}/s/**")


async def add_rule(page, base: str, name: str, action: str, fill: dict[str, str]) -> None:
    await page.goto(f"{base}/settings/automation/new")
    await page.fill("#f-name", name)
    await page.select_option("#f-event", "order_created")
    await page.select_option("#f-action", action)
    for selector, value in fill.items():
        if selector.startswith("select:"):
            await page.select_option(selector[7:], value)
        else:
            await page.fill(selector, value)
    await page.click("[data-testid=rule-save]")
    await page.locator("[data-testid=rule-saved]").wait_for()


async def test_a_rule_turns_a_form_order_into_the_managers_task(browser, live_server, runtime, tmp_path) -> None:
    shop = await seeded_store("rule-browser", tmp_path)
    base = f"{live_server}/s/{shop.slug}"
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    staff = await context.new_page()
    await login(staff, live_server, shop.email)
    await add_rule(staff, base, "Assign new orders", "assign_manager", {"select:#f-manager": str(shop.identity_id)})
    await staff.goto(f"{base}/settings/automation/new")
    # Only the chosen action's fields are shown.
    await staff.select_option("#f-action", "create_task")
    assert await staff.locator("#f-task_title").is_visible()
    assert not await staff.locator("#f-url").is_visible()
    await staff.screenshot(path=shot("automation-rule-form"), full_page=True)
    await add_rule(
        staff,
        base,
        "Call about new orders",
        "create_task",
        {"#f-task_title": "Call about order {number}", "select:#f-task_assignee": "manager", "#f-task_due_hours": "2"},
    )

    shopper = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await shopper.goto(f"{live_server}/f/{shop.slug}/order?lang=en")
    await shopper.locator("[data-testid=qty-K-1]").fill("1")
    await shopper.locator("[data-testid=field-name]").fill("Olga")
    await shopper.locator("[data-testid=field-phone]").fill("+7 912 765-43-21")
    await shopper.locator("[data-testid=order-submit]").click()
    await shopper.locator("[data-testid=order-number]").wait_for()
    number = (await shopper.locator("[data-testid=order-number]").inner_text()).split()[-1]

    title = f"Call about order {number}"
    for _attempt in range(40):  # the worker inside the server runs the rules right after the order
        await staff.goto(f"{base}/tasks/?view=mine")
        if await staff.locator(f"text={title}").count():
            break
        await staff.wait_for_timeout(500)
    await staff.locator(f"[data-testid=task-title]:has-text('{title}')").wait_for()
    await staff.screenshot(path=shot("tasks-mine"), full_page=True)
    await staff.locator(f"[data-testid=task-title]:has-text('{title}')").click()
    assert await staff.locator("[data-testid=task-assignee]").inner_text() == shop.email
    await staff.locator("[data-testid=task-order]").click()
    await staff.locator("[data-testid=order-task]").wait_for()
    await staff.goto(f"{base}/settings/automation/")
    assert await staff.locator("[data-testid=run-done]").count() == 2
    await staff.screenshot(path=shot("automation-log"), full_page=True)

    for layout in ("board", "calendar"):
        await staff.goto(f"{base}/tasks/?layout={layout}")
        await staff.screenshot(path=shot(f"tasks-{layout}"), full_page=True)
    await staff.goto(f"{base}/staff/results/")
    await staff.locator("[data-testid=staff-results]").wait_for()
    await staff.screenshot(path=shot("staff-results"), full_page=True)
    phone = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await login(phone, live_server, shop.email)
    for layout in ("list", "calendar"):
        await phone.goto(f"{base}/tasks/?layout={layout}&view=all")
        await phone.screenshot(path=shot(f"tasks-{layout}-390"), full_page=True)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{layout} scrolls sideways at 390 px"
    await context.close()
