"""Order distribution: in turn or to the least loaded manager on shift, off means unassigned, and many orders
placed at once are handed out exactly as one at a time would be (the distribution row is locked)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from app.errors import ValidationFailed
from app.forms.staff import MemberData
from app.services import distribution, orders, staff
from app.tenancy import runtime as tenancy
from tests.conftest import make_store
from tests.factories import add_member, assign, place_order

pytestmark = pytest.mark.integration


async def set_mode(store, mode: str) -> None:
    async with tenancy.bind_tenant(store.tenant):
        await staff.set_distribution(mode, actor_id=store.identity_id)


async def off_shift(store, identity_id: int) -> None:
    async with tenancy.bind_tenant(store.tenant):
        await staff.set_shift(identity_id, False, actor_id=identity_id)


async def test_off_leaves_new_orders_unassigned(runtime) -> None:
    store = await make_store("dist-off")
    await add_member(store, "manager")
    order = await place_order(store)
    assert order["manager_id"] is None


async def test_round_robin_takes_managers_on_shift_in_turn(runtime) -> None:
    store = await make_store("dist-rr")
    first, _ = await add_member(store, "manager")
    second, _ = await add_member(store, "manager")
    resting, _ = await add_member(store, "manager")
    await add_member(store, "operator")  # operators and analysts do not get orders
    await off_shift(store, resting)
    await set_mode(store, "round_robin")
    got = [(await place_order(store, source=source))["manager_id"] for source in ("form", "staff", "api", "form")]
    assert got == [first, second, first, second]
    async with tenancy.bind_tenant(store.tenant):
        await staff.update_member(
            store.tenant.id, second, MemberData("manager", "all", True, False),
            actor_id=store.identity_id, actor_role="owner",
        )  # fmt: skip
    assert (await place_order(store))["manager_id"] == first  # a deactivated manager gets nothing


async def test_least_loaded_gets_the_next_order(runtime) -> None:
    store = await make_store("dist-least")
    busy, _ = await add_member(store, "manager")
    idle, _ = await add_member(store, "manager")
    for _i in range(3):
        order = await place_order(store)
        await assign(store, order["id"], busy)
    closed = await place_order(store)
    await assign(store, closed["id"], idle)
    async with tenancy.bind_tenant(store.tenant):
        await orders.change_status(closed["id"], "cancelled", actor_id=None, actor="test")
    await set_mode(store, "least_loaded")
    # idle has 0 open orders (a cancelled one does not count), busy has 3: the next three go to idle,
    # then they are level and the fourth goes to the next in turn.
    got = [(await place_order(store))["manager_id"] for _i in range(4)]
    assert got[:3] == [idle, idle, idle]
    assert got[3] in (busy, idle)


async def test_nobody_on_shift_means_unassigned(runtime) -> None:
    store = await make_store("dist-empty")
    only, _ = await add_member(store, "manager")
    await off_shift(store, only)
    await set_mode(store, "round_robin")
    assert (await place_order(store))["manager_id"] is None


@pytest.mark.parametrize("mode", ["round_robin", "least_loaded"])
async def test_orders_placed_at_once_are_spread_evenly(runtime, mode: str) -> None:
    store = await make_store(f"dist-race-{mode.replace('_', '-')}")
    managers = [(await add_member(store, "manager"))[0] for _i in range(3)]
    await set_mode(store, mode)
    placed = await asyncio.gather(*[place_order(store, name=f"Shopper {i}") for i in range(12)])
    counts = Counter(order["manager_id"] for order in placed)
    assert counts == dict.fromkeys(managers, 4)
    async with tenancy.bind_tenant(store.tenant):
        assert await distribution.mode() == mode


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(runtime) -> None:
    store = await make_store("dist-owners")
    second, _ = await add_member(store, "owner")
    demote = MemberData("manager", "all", True, True)

    async def change(target: int, actor: int) -> bool:
        async with tenancy.bind_tenant(store.tenant):
            try:
                await staff.update_member(store.tenant.id, target, demote, actor_id=actor, actor_role="owner")
            except ValidationFailed:
                return False
            return True

    results = await asyncio.gather(change(second, store.identity_id), change(store.identity_id, second))
    assert sorted(results) == [False, True]
    async with tenancy.bind_tenant(store.tenant):
        assert [m.role for m in await staff.members()].count("owner") == 1


async def test_a_distributed_order_says_so_in_its_history(runtime) -> None:
    store = await make_store("dist-history")
    manager, _ = await add_member(store, "manager")
    await set_mode(store, "round_robin")
    order = await place_order(store)
    [change] = [c for c in order["history"] if c["field"] == "manager"]
    assert change["after"] == {"value": manager} and change["actor_id"] is None
