"""Task reminders: when a task's reminder time comes, its assignee gets an e-mail in their language."""

from __future__ import annotations

import logging

from app.i18n import format_datetime, use_locale
from app.i18n import gettext as _
from app.services import identities, staff, stores, tasks
from app.services.mail import MailSettings, send_email, simple_message
from app.tenancy.runtime import current_tenant

logger = logging.getLogger(__name__)


async def send_due(public_url: str, settings: MailSettings) -> list[str]:
    """Send every due reminder once; returns the addresses that accepted one."""
    due = await tasks.claim_due_reminders()
    if not due:
        return []
    tenant = current_tenant()
    people = {m.identity_id: m for m in await staff.members()}
    languages = await identities.locales(people)
    zone = await stores.store_timezone()
    sent: list[str] = []
    for task in due:
        person = people.get(task["assignee_id"])
        if person is None:
            continue  # nobody to remind: the task stays on the board, marked as reminded
        with use_locale(languages.get(person.identity_id) or tenant.locale):
            subject = _("Reminder: %(title)s", title=task["title"])
            lines = [task["title"], ""]
            if task["due_at"]:
                lines.append(_("Due: %(when)s", when=format_datetime(task["due_at"], "short", zone=zone)))
            if task["description"]:
                lines += [task["description"], ""]
            lines.append(f"{public_url.rstrip('/')}/s/{tenant.slug}/tasks/{task['id']}")
            try:
                message = simple_message(person.email, subject, "\n".join(lines), settings, name=person.name)
            except ValueError:
                logger.warning("task %s: assignee address is not valid", task["id"])
                continue
        if await send_email(message, settings):
            sent.append(person.email)
    return sent
