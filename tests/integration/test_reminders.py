"""Task reminders: the assignee gets one e-mail, in their language, when the reminder time comes."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from app import jobs
from app.services import tasks
from app.tables.control import Identity
from app.tables.tasks import Task
from app.tenancy import runtime as tenancy
from tests.browser.conftest import free_port
from tests.conftest import make_store

pytestmark = pytest.mark.integration


class Sink:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def data(title: str, assignee: int | None, remind: datetime | None) -> tasks.TaskData:
    due = datetime.now(UTC) + timedelta(hours=3)
    return tasks.TaskData(title, "Details", assignee, "high", due, remind, None, None)


async def test_due_reminders_are_mailed_once_in_the_assignees_language(runtime, monkeypatch) -> None:
    await jobs.run_worker(wait=False)  # other tests' queued mail goes out before our sink listens
    store = await make_store("remind-shop", locale="ru")
    await Identity.update({Identity.locale: "uk"}).where(Identity.id == store.identity_id)
    sink = Sink()
    port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    monkeypatch.setenv("AUTOOFFICE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTOOFFICE_SMTP_PORT", str(port))
    try:
        async with tenancy.bind_tenant(store.tenant):
            past = datetime.now(UTC) - timedelta(minutes=1)
            due = await tasks.create(data("Передзвонити", store.identity_id, past), author_id=store.identity_id)
            await tasks.create(data("Later", store.identity_id, past + timedelta(days=1)), author_id=None)
            done = await tasks.create(data("Done already", store.identity_id, past), author_id=None)
            await tasks.set_done(done, True)
        await jobs.automation_tick.defer_async(timestamp=0)
        await jobs.run_worker(wait=False)
        await jobs.automation_tick.defer_async(timestamp=1)
        await jobs.run_worker(wait=False)  # the second tick finds nothing new
    finally:
        smtp.stop()
    assert [rcpt for rcpt, _m in sink.messages] == [[store.email]]
    message = sink.messages[0][1]
    assert "Передзвонити" in message["Subject"] and "Нагадування" in message["Subject"]
    assert f"/s/{store.slug}/tasks/{due}" in message.get_content()
    async with tenancy.bind_tenant(store.tenant):
        assert await Task.count().where(Task.reminded_at.is_not_null()) == 1


async def test_a_changed_reminder_time_rings_again(runtime) -> None:
    store = await make_store("remind-again", locale="en")
    async with tenancy.bind_tenant(store.tenant):
        past = datetime.now(UTC) - timedelta(minutes=1)
        task_id = await tasks.create(data("Ring", store.identity_id, past), author_id=None)
        assert [t["id"] for t in await tasks.claim_due_reminders()] == [task_id]
        assert await tasks.claim_due_reminders() == []
        await tasks.update(task_id, data("Ring", store.identity_id, past - timedelta(minutes=5)))
        assert [t["id"] for t in await tasks.claim_due_reminders()] == [task_id]
