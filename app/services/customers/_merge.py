"""Duplicates: suggested by shared phone or e-mail (and, weaker, name + city); merged and un-merged.

A merge moves the duplicate's orders, timeline and lists to the survivor, fills the survivor's missing
contacts, and keeps a ``customer_merge`` row with exactly what moved, so undoing puts it all back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.errors import Conflict, NotFound
from app.i18n import gettext as _
from app.i18n import messages
from app.services import audit, rfm
from app.services.customers import _identity as ident
from app.services.customers import _scope
from app.tables.customers import Customer, CustomerMerge
from app.tenancy.runtime import store_transaction

# Two customers are likely one person when an order of one carries the other's e-mail or phone
# (the order form found the first by phone while the e-mail already belonged to the second).
_SUGGEST = """
SELECT least(a, b) AS a, greatest(a, b) AS b, min(reason) AS reason FROM (
  SELECT o.customer AS a, c2.id AS b, 'email' AS reason FROM orders o
    JOIN customer c2 ON c2.email = o.email AND c2.merged_into IS NULL AND c2.id <> o.customer
    WHERE o.email IS NOT NULL AND o.customer IS NOT NULL
  UNION ALL
  SELECT o.customer, c2.id, 'phone' FROM orders o
    JOIN customer c2 ON c2.phone = o.phone AND c2.merged_into IS NULL AND c2.id <> o.customer
    WHERE o.phone IS NOT NULL AND o.customer IS NOT NULL
  UNION ALL
  SELECT x.id, y.id, 'name_city' FROM customer x JOIN customer y
    ON lower(y.name) = lower(x.name) AND lower(y.city) = lower(x.city) AND y.id > x.id AND y.merged_into IS NULL
    WHERE x.merged_into IS NULL AND x.name LIKE '% %' AND x.city <> ''
) pairs
WHERE EXISTS (SELECT 1 FROM customer c WHERE c.id = pairs.a AND c.merged_into IS NULL)
GROUP BY least(a, b), greatest(a, b) ORDER BY min(reason), least(a, b) LIMIT {}
"""

_PERSON = (
    "SELECT id, name, phone, email, city, orders_count, total_spent_minor, created_at FROM customer WHERE id = ANY({})"
)


async def duplicates(limit: int = 50, *, only_manager: int | None = None) -> list[dict]:
    """Suggested pairs, strongest reasons first (``reason`` is email, phone or name_city).

    ``only_manager`` (a member limited to own orders): pairs where one of the two has an order of theirs,
    each person with the figures of those orders only.
    """
    pairs = await Customer.raw(_SUGGEST, limit if only_manager is None else 500)
    ids = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    people = {row["id"]: row for row in await Customer.raw(_PERSON, ids)} if ids else {}
    if only_manager is not None:
        own = await _scope.own_figures_of(ids, only_manager) if ids else {}
        pairs = [p for p in pairs if p["a"] in own or p["b"] in own][:limit]
        for person_id, person in people.items():
            person.update(own.get(person_id, {"orders_count": 0, "total_spent_minor": 0}))
    return [{"a": people[p["a"]], "b": people[p["b"]], "reason": p["reason"]} for p in pairs]


def reason_labels() -> dict[str, str]:
    return {
        "email": _("Same e-mail in an order"),
        "phone": _("Same phone in an order"),
        "name_city": _("Same name and city"),
    }


async def merge_survivor(merge_id: int) -> int:
    row = await CustomerMerge.select(CustomerMerge.survivor).where(CustomerMerge.id == merge_id).first()
    if row is None:
        raise NotFound(_("This merge does not exist."))
    return int(row["survivor"])


async def _lock(*ids: int) -> dict[int, dict]:
    rows = await Customer.raw(
        "SELECT id, name, phone, email, city, tags, merged_into FROM customer WHERE id = ANY({})"
        " ORDER BY id FOR UPDATE",
        list(ids),
    )
    found = {
        row["id"]: row | {"tags": json.loads(row["tags"]) if isinstance(row["tags"], str) else row["tags"]}
        for row in rows
    }
    if len(found) != len(set(ids)):
        raise NotFound(_("This customer does not exist."))
    return found


async def merge(survivor_id: int, merged_id: int, *, actor_id: int | None, actor: str = "") -> int:
    """Merge ``merged_id`` into ``survivor_id``; returns the merge record's id.

    Raises:
        NotFound: either customer is unknown.
        Conflict: the same customer twice, or one of them is already merged.
    """
    if survivor_id == merged_id:
        raise Conflict(_("Choose two different customers."))
    now = datetime.now(UTC)
    async with store_transaction():
        people = await _lock(survivor_id, merged_id)
        survivor, merged = people[survivor_id], people[merged_id]
        if survivor["merged_into"] or merged["merged_into"]:
            raise Conflict(_("One of these customers was already merged."))
        orders = [r["id"] for r in await Customer.raw("SELECT id FROM orders WHERE customer = {}", merged_id)]
        events = [r["id"] for r in await Customer.raw("SELECT id FROM customer_event WHERE customer = {}", merged_id)]
        lists = [
            r["segment"]
            for r in await Customer.raw("SELECT segment FROM segment_member WHERE customer = {}", merged_id)
        ]
        # Retire the duplicate first: its phone and e-mail leave the unique indexes for the survivor.
        await Customer.raw(
            "UPDATE customer SET merged_into = {}, updated_at = {} WHERE id = {}", survivor_id, now, merged_id
        )
        await Customer.raw("UPDATE orders SET customer = {} WHERE customer = {}", survivor_id, merged_id)
        await Customer.raw("UPDATE customer_event SET customer = {} WHERE customer = {}", survivor_id, merged_id)
        added = await Customer.raw(
            "INSERT INTO segment_member (segment, customer, added_at) SELECT segment, {}, added_at FROM segment_member"
            " WHERE customer = {} ON CONFLICT (segment, customer) DO NOTHING RETURNING segment",
            survivor_id,
            merged_id,
        )
        await Customer.raw("DELETE FROM segment_member WHERE customer = {}", merged_id)
        fill = {
            "name": survivor["name"] or merged["name"],
            "phone": survivor["phone"] or merged["phone"],
            "email": survivor["email"] or merged["email"],
            "city": survivor["city"] or merged["city"],
            "tags": survivor["tags"] + [t for t in merged["tags"] if t not in survivor["tags"]],
        }
        await Customer.update({getattr(Customer, k): v for k, v in fill.items()} | {Customer.updated_at: now}).where(
            Customer.id == survivor_id
        )
        before = {k: survivor[k] for k in fill}
        record = await CustomerMerge.insert(
            CustomerMerge(
                survivor=survivor_id,
                merged=merged_id,
                at=now,
                actor_id=actor_id,
                moved={
                    "orders": orders,
                    "events": events,
                    "lists": lists,
                    "lists_added": [r["segment"] for r in added],
                    "survivor_before": before,
                    "survivor_after": fill,
                },
            )
        ).returning(CustomerMerge.id)
        merge_id = record[0]["id"]
        await ident.recompute_totals([survivor_id, merged_id])
        await ident.add_event(
            survivor_id,
            ident.MERGED,
            actor_id=actor_id,
            data={"merge": merge_id, "customer": merged_id, "name": merged["name"], "orders": len(orders)},
        )
        await audit.record(
            "customer", survivor_id, "merge", actor_id=actor_id, actor=actor,
            summary=messages.gettext("Customer #%(id)s merged into this one", id=merged_id),
            before={k: before[k] for k in fill if before[k] != fill[k]},
            after={**{k: fill[k] for k in fill if before[k] != fill[k]}, "merged": merged_id, "orders": len(orders)},
        )  # fmt: skip
        await rfm.refresh(customer_ids=[survivor_id, merged_id])
    return merge_id


async def undo_merge(merge_id: int, *, actor_id: int | None, actor: str = "") -> int:
    """Put back what a merge moved; returns the restored customer's id.

    Raises:
        NotFound: unknown merge.
        Conflict: already undone, or the duplicate's phone or e-mail now belongs to someone else.
    """
    now = datetime.now(UTC)
    async with store_transaction():
        record = await CustomerMerge.select().where(CustomerMerge.id == merge_id).output(load_json=True).first()
        if record is None:
            raise NotFound(_("This merge does not exist."))
        survivor_id, merged_id, moved = record["survivor"], record["merged"], record["moved"]
        await CustomerMerge.raw("SELECT id FROM customer_merge WHERE id = {} FOR UPDATE", merge_id)
        if (await CustomerMerge.select(CustomerMerge.undone_at).where(CustomerMerge.id == merge_id).first())[
            "undone_at"
        ]:
            raise Conflict(_("This merge was already undone."))
        people = await _lock(survivor_id, merged_id)
        survivor = people[survivor_id]
        # Restore only what the merge itself filled in and nobody has changed since.
        after, before = moved["survivor_after"], moved["survivor_before"]
        restore = {k: before[k] for k in after if survivor.get(k) == after[k] and before[k] != after[k]}
        if restore:
            await Customer.update({getattr(Customer, k): v for k, v in restore.items()}).where(
                Customer.id == survivor_id
            )
        merged = await Customer.select(Customer.phone, Customer.email).where(Customer.id == merged_id).first()
        for field in ("phone", "email"):
            value = merged[field]
            if value:
                taken = await Customer.raw(
                    f"SELECT id FROM customer WHERE {field} = {{}} AND merged_into IS NULL AND id <> {{}}",  # noqa: S608 (fixed SQL text; values are parameters)
                    value,
                    merged_id,
                )
                if taken:
                    raise Conflict(_("The duplicate's phone or e-mail now belongs to another customer; edit it first."))
        await Customer.raw("UPDATE customer SET merged_into = NULL, updated_at = {} WHERE id = {}", now, merged_id)
        await Customer.raw(
            "UPDATE orders SET customer = {} WHERE id = ANY({}) AND customer = {}",
            merged_id,
            moved["orders"],
            survivor_id,
        )
        await Customer.raw(
            "UPDATE customer_event SET customer = {} WHERE id = ANY({}) AND customer = {}",
            merged_id,
            moved["events"],
            survivor_id,
        )
        await Customer.raw(
            "DELETE FROM segment_member WHERE customer = {} AND segment = ANY({})", survivor_id, moved["lists_added"]
        )
        await Customer.raw(
            "INSERT INTO segment_member (segment, customer, added_at) SELECT s, {}, {} FROM unnest({}::int[]) s"
            " WHERE EXISTS (SELECT 1 FROM segment WHERE id = s) ON CONFLICT DO NOTHING",
            merged_id,
            now,
            moved["lists"],
        )
        await CustomerMerge.update({CustomerMerge.undone_at: now}).where(CustomerMerge.id == merge_id)
        await ident.recompute_totals([survivor_id, merged_id])
        for customer_id in (survivor_id, merged_id):
            await ident.add_event(customer_id, ident.UNMERGED, actor_id=actor_id, data={"merge": merge_id})
        await audit.record(
            "customer", survivor_id, "unmerge", actor_id=actor_id, actor=actor,
            summary=messages.gettext("Merge with customer #%(id)s undone", id=merged_id),
            before={k: after[k] for k in restore}, after={**restore, "restored": merged_id},
        )  # fmt: skip
        await rfm.refresh(customer_ids=[survivor_id, merged_id])
    return merged_id
