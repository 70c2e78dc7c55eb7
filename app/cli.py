"""The ``autooffice`` command: parse → service → print. User mistakes are one line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn

from app import jobs, logs, metrics
from app.errors import AppError, ValidationFailed
from app.forms.auth import validate_signup
from app.i18n import use_locale
from app.services import analytics, demo, demo_customers, fleet, payments, stores
from app.services.imports import jobs as import_jobs
from app.services.imports import orders_apply
from app.settings import get_settings
from app.tenancy import migrate, pgtools, relocate
from app.tenancy import runtime as tenancy

RELOCATION_ERRORS = (relocate.RelocationError, pgtools.ToolsMissing, pgtools.CopyFailed, asyncpg.PostgresError)


def _fail(message: str) -> int:
    print(f"autooffice: {message}", file=sys.stderr)
    return 2


async def _with_runtime(work: Callable[[], Awaitable[int]]) -> int:
    await tenancy.start(get_settings())
    try:
        return await work()
    finally:
        await tenancy.stop()


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


async def _migrate(concurrency: int = 8) -> list[migrate.TenantResult]:
    results = await migrate.migrate_all(concurrency=concurrency)
    await jobs.ensure_schema(tenancy.get_runtime().primary_dsn, get_settings())
    return results


async def cmd_migrate(args: argparse.Namespace) -> int:
    results = await _migrate(args.concurrency)
    failed = [r for r in results if not r.ok]
    print(_table([r.__dict__ for r in results], ["slug", "version", "ok", "error"]) if results else "no stores yet")
    print(f"{len(results) - len(failed)} stores at the latest schema, {len(failed)} failed")
    return 1 if failed else 0


async def cmd_demo(args: argparse.Namespace) -> int:

    await _migrate()
    settings = get_settings()
    slug = await demo.seed(settings.demo_password, payments.Keys(settings.secret_key, settings.public_url))
    await demo_customers.seed_store(slug)
    print(f"demo store ready: /s/{slug}/ (login {demo.DEMO_EMAIL})")
    return 0


async def cmd_tenant_create(args: argparse.Namespace) -> int:

    raw = {
        "store_name": args.name or args.slug,
        "slug": args.slug,
        "email": args.owner_email,
        "password": args.password,
        "locale": args.locale,
        "currency": args.currency,
        "country": args.country,
    }
    data, errors = validate_signup(raw)
    if data is None:
        return _fail("; ".join(f"{k}: {v}" for k, v in errors.items()))
    identity_id = await stores.existing_identity(data.email)
    tenant, _ = await stores.create_store(data, identity_id=identity_id, server=args.server)
    print(f"created store {tenant.slug}: database {tenant.database} on server {tenant.server}")
    return 0


async def cmd_tenant_list(args: argparse.Namespace) -> int:

    rows = [r.as_dict() for r in await fleet.list_tenants()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(_table(rows, ["slug", "database", "role", "server", "schema_version", "status", "size_bytes"]))
    return 0


def _print_tables(prints: Sequence[pgtools.TablePrint]) -> None:
    print(_table([p.as_dict() for p in prints], ["table", "rows", "checksum"]))


async def cmd_tenant_move(args: argparse.Namespace) -> int:
    try:
        report = await relocate.move_tenant(args.slug, args.to, keep_old=args.keep_old)
    except RELOCATION_ERRORS as exc:
        return _fail(f"move failed, the store stays where it was: {exc}")
    if args.json:
        payload = {**report.__dict__, "tables": [p.as_dict() for p in report.tables]}
        print(json.dumps(payload, indent=2))
        return 0
    _print_tables(report.tables)
    print(
        f"moved store {report.slug} from {report.source} to {report.target}: rows and checksums match; "
        f"writes paused {report.pause_seconds:.1f} s; old copy {report.old_copy}"
    )
    return 0


async def cmd_tenant_backup(args: argparse.Namespace) -> int:
    try:
        report = await relocate.backup_tenant(args.slug, Path(args.file).resolve())
    except RELOCATION_ERRORS as exc:
        return _fail(f"backup failed: {exc}")
    _print_tables(report.tables)
    print(f"backup of {report.slug} written to {report.file} ({report.size_bytes} bytes); checks in {report.manifest}")
    return 0


async def cmd_tenant_restore(args: argparse.Namespace) -> int:
    file = Path(args.file).resolve()
    try:
        if args.replace:
            if args.source or args.server:
                return _fail("--replace restores the store SLUG itself; --from and --server do not apply")
            report = await relocate.replace_from_backup(args.slug, file, keep_old=args.keep_old)
        else:
            report = await relocate.restore_tenant(args.slug, file, source=args.source, server=args.server)
    except RELOCATION_ERRORS as exc:
        return _fail(f"restore failed, nothing was changed: {exc}")
    _print_tables(report.tables)
    checked = "rows and checksums match the backup" if report.verified else "no manifest to check against"
    if args.replace:
        print(f"store {report.slug} is back to the backup (database {report.database} on {report.server}); {checked}")
        return 0
    print(
        f"restored into store {report.slug} (database {report.database} on server {report.server}); {checked}; "
        f"{report.members} staff members copied"
    )
    return 0


async def cmd_server_add(args: argparse.Namespace) -> int:

    row = await fleet.add_server(args.name, args.dsn, accepts_new=not args.no_new_stores)
    print(f"server {row.name} added ({row.dsn})")
    return 0


async def cmd_server_list(args: argparse.Namespace) -> int:
    rows = [r.as_dict() for r in await fleet.list_servers()]
    columns = ["name", "dsn", "status", "accepts_new", "stores", "reachable", "version"]
    print(json.dumps(rows, indent=2) if args.json else _table(rows, columns))
    return 0


async def cmd_analytics(args: argparse.Namespace) -> int:
    """Rebuild a store's dashboard and report figures from its orders (after bulk loads or repairs)."""
    tenant = await tenancy.lookup_tenant(args.slug, fresh=True)
    if tenant is None:
        return _fail(f"no store called {args.slug!r}")
    started = time.perf_counter()
    async with tenancy.bind_tenant(tenant):
        await analytics.rebuild()
    print(f"{args.slug}: analytics rebuilt in {time.perf_counter() - started:.1f} s")
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    """Same engine as the web import: preview, then apply unless --dry-run; prints the summary."""
    tenant = await tenancy.lookup_tenant(args.slug, fresh=True)
    if tenant is None:
        return _fail(f"no store called {args.slug!r}")
    paths = [Path(name) for name in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        return _fail(f"no such file: {', '.join(missing)}")
    storage = get_settings().data_dir / "uploads"
    async with tenancy.bind_tenant(tenant):
        with use_locale(tenant.locale):
            job_id = await import_jobs.create_job(paths, storage, fmt=args.format)
            job = await import_jobs.run_job(job_id)
            if job["status"] == "previewed" and not args.dry_run:
                await import_jobs.request_apply(job_id)
                job = await import_jobs.run_job(job_id)
            issues = await import_jobs.issues(job_id, limit=20)
    if job["status"] == "failed":
        return _fail(job["fatal"])
    counts = job["counts"]
    print(f"import #{job_id}: {job['status']} ({job['format']}, {'full' if job['is_full'] else 'partial'} feed)")
    for key in (
        "offers_new",
        "offers_changed",
        "offers_unchanged",
        "offers_updated",
        "marked_unavailable",
        "products_new",
        "categories_new",
    ):
        print(f"  {key.replace('_', ' ')}: {counts.get(key, 0)}")
    print(f"  rows skipped: {job['errors']}, warnings: {job['warnings']}")
    for issue in issues:
        print(f"  line {issue['line'] or '-'} {issue['field'] or ''}: {issue['message']}")
    return 0


async def cmd_import_orders(args: argparse.Namespace) -> int:
    """Past orders and their customers: a preview with --dry-run, else applied whole or not at all."""
    tenant = await tenancy.lookup_tenant(args.slug, fresh=True)
    if tenant is None:
        return _fail(f"no store called {args.slug!r}")
    paths = [Path(name) for name in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        return _fail(f"no such file: {', '.join(missing)}")
    files = [(p.name, p.read_bytes()) for p in paths]
    async with tenancy.bind_tenant(tenant):
        with use_locale(tenant.locale):
            report = await orders_apply.import_files(files, fmt=args.format, dry_run=args.dry_run)
    for name, line, message in report.issues[:50]:
        print(f"{name}: line {line or '-'}: {message}", file=sys.stderr)
    if report.issues:
        return _fail(f"{len(report.issues)} wrong rows; nothing was imported")
    state = "applied" if report.applied else "preview (nothing changed)"
    print(f"import-orders: {state} ({report.format})")
    for key in ("orders_new", "orders_unchanged", "lines", "customers_new", "customers_found"):
        print(f"  {key.replace('_', ' ')}: {getattr(report, key)}")
    for name, line, message in report.warnings[:50]:
        print(f"  {name}: line {line or '-'}: {message}")
    return 0


async def cmd_worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    logs.configure(settings.log_format, settings.log_level)
    async with jobs.opened(tenancy.get_runtime().primary_dsn, settings):
        # A worker that (re)starts first takes back the jobs of workers that died (SIGKILL, lost machine).
        await jobs.retry_stalled_jobs()
        await jobs.run_worker(concurrency=args.concurrency, queues=args.queue or None)
    return 0


async def cmd_gateway_list(args: argparse.Namespace) -> int:
    rows = payments.gateways()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [
        {
            "code": g["code"],
            "name": g["name"],
            "capabilities": ",".join(k for k, v in g["capabilities"].items() if v),
            "fields": ",".join(f["name"] for f in g["config_fields"]),
        }
        for g in rows
    ]
    print(_table(table, ["code", "name", "capabilities", "fields"]))
    return 0


async def cmd_gateway_connect(args: argparse.Namespace) -> int:
    tenant = await tenancy.lookup_tenant(args.slug, fresh=True)
    if tenant is None:
        return _fail(f"no store called {args.slug!r}")
    values = dict(item.split("=", 1) for item in args.settings if "=" in item)
    if len(values) != len(args.settings):
        return _fail("settings are KEY=VALUE pairs")
    settings = get_settings()
    keys = payments.Keys(settings.secret_key, settings.public_url)
    async with tenancy.bind_tenant(tenant):
        connection_id = await payments.connect(
            args.code, values, keys=keys, test_mode=args.test, base_url=args.base_url
        )
        hooks = payments.hook_urls(keys, args.code, connection_id)
    if args.json:
        urls = {"notification_url": hooks[0][1]} if len(hooks) == 1 else {"notification_urls": dict(hooks)}
        print(json.dumps({"connection_id": connection_id, **urls}))
    else:
        print(f"connection {connection_id}: notifications go to {', '.join(url for _kind, url in hooks)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Any worker serves any request: sessions, rate limits and the job queue live in PostgreSQL."""
    settings = get_settings()
    if args.workers < 1:
        return _fail("--workers must be at least 1")
    if not settings.db.url:
        # Worker processes find the embedded server through the environment.
        os.environ["AUTOOFFICE_DATABASE_URL"] = tenancy.resolve_primary_dsn(settings)
    if args.workers > 1 and not os.environ.get(metrics.MULTIPROC_ENV):
        # Each worker writes its metric values here; a scrape answered by any worker sums them.
        directory = settings.data_dir / "metrics" / str(args.port)
        metrics.prepare_multiprocess_dir(directory)
        os.environ[metrics.MULTIPROC_ENV] = str(directory)
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=logs.logging_config(settings.log_format, settings.log_level),
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # X-Forwarded-For is believed only from AUTOOFFICE_TRUSTED_PROXIES (app.web.clients)
        access_log=False,  # app.web.observe writes one line per request, with the store and request id
    )
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """`make run`: migrate, seed the demo store, print the login, serve."""
    settings = get_settings()
    os.environ.setdefault("AUTOOFFICE_INPROCESS_WORKER", "1")
    os.environ.setdefault("AUTOOFFICE_LOG_FORMAT", "text")
    if not settings.db.url:
        os.environ["AUTOOFFICE_DATABASE_URL"] = tenancy.resolve_primary_dsn(settings)
    get_settings.cache_clear()
    code = asyncio.run(_with_runtime(lambda: cmd_demo(args)))
    if code:
        return code
    print(
        f"\n  AutoOffice is running at http://{args.host}:{args.port}/\n"
        f"  demo login: demo@autooffice.local / {get_settings().demo_password}\n",
        flush=True,
    )
    return cmd_serve(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autooffice", description="AutoOffice: CRM and order desk for online stores")
    sub = parser.add_subparsers(dest="command", required=True)
    port = int(os.environ.get("PORT", "8000"))
    for name in ("serve", "dev"):
        p = sub.add_parser(name, help="run the web app" if name == "serve" else "migrate, seed the demo store, serve")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=port)
        p.add_argument("--workers", type=int, default=1)
        p.set_defaults(sync=cmd_serve if name == "serve" else cmd_dev)
    p = sub.add_parser("migrate", help="control plane, templates, then every store database")
    p.add_argument("--concurrency", type=int, default=8)
    p.set_defaults(run=cmd_migrate)
    sub.add_parser("demo", help="(re)seed the demo store").set_defaults(run=cmd_demo)
    p = sub.add_parser("worker", help="a background job worker (run any number, on any machines)")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--queue", action="append", help="take jobs from this queue only (repeat for several)")
    p.set_defaults(run=cmd_worker)
    analytics_parser = sub.add_parser("analytics", help="dashboard and report figures")
    p = analytics_parser.add_subparsers(dest="verb", required=True).add_parser(
        "rebuild", help="recompute a store's rollups from its orders"
    )
    p.add_argument("slug")
    p.set_defaults(run=cmd_analytics)
    p = sub.add_parser("import", help="import goods from YML, CommerceML or CSV files")
    p.add_argument("slug")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["yml", "commerceml", "csv"])
    p.add_argument("--dry-run", action="store_true", help="preview only; change nothing")
    p.set_defaults(run=cmd_import)
    p = sub.add_parser("import-orders", help="import past orders and their customers")
    p.add_argument("slug")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["commerceml", "shopify", "woocommerce", "csv"])
    p.add_argument("--dry-run", action="store_true", help="preview only; change nothing")
    p.set_defaults(run=cmd_import_orders)
    tenant = sub.add_parser("tenant", help="stores").add_subparsers(dest="verb", required=True)
    p = tenant.add_parser("create", help="provision a store")
    p.add_argument("slug")
    p.add_argument("--name")
    p.add_argument("--owner-email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--locale", default="ru")
    p.add_argument("--currency", help="default: the language's (uk: UAH, ru and en: RUB)")
    p.add_argument("--country", help="default: the language's (uk: UA, ru and en: RU)")
    p.add_argument("--server")
    p.set_defaults(run=cmd_tenant_create)
    p = tenant.add_parser("list", help="stores with database, role, server, schema version, size")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_tenant_list)
    p = tenant.add_parser("move", help="move a store to another server (a short write pause, nothing lost)")
    p.add_argument("slug")
    p.add_argument("--to", required=True, metavar="SERVER")
    p.add_argument("--keep-old", action="store_true", help="rename the old copy instead of dropping it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_tenant_move)
    p = tenant.add_parser("backup", help="pg_dump one store's database to FILE (checks in FILE.json)")
    p.add_argument("slug")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=cmd_tenant_backup)
    p = tenant.add_parser("restore", help="restore a backup into a new store SLUG (or, with --replace, over SLUG)")
    p.add_argument("slug", help="the new store's slug (must not exist), or the store to put back with --replace")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--from", dest="source", metavar="SLUG", help="the original store: its staff can open the copy")
    p.add_argument("--server", help="server for the new store (default: the original's, else placement policy)")
    p.add_argument("--replace", action="store_true", help="put the existing store SLUG back to the backup, in place")
    p.add_argument("--keep-old", action="store_true", help="with --replace: keep the replaced database as <name>_old")
    p.set_defaults(run=cmd_tenant_restore)
    server_parser = sub.add_parser("server", help="PostgreSQL servers that host stores")
    server = server_parser.add_subparsers(dest="verb", required=True)
    p = server.add_parser("add", help="register a server")
    p.add_argument("name")
    p.add_argument("dsn")
    p.add_argument("--no-new-stores", action="store_true", help="only stores moved here (placement skips it)")
    p.set_defaults(run=cmd_server_add)
    p = server.add_parser("list", help="servers (DSNs printed without passwords)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_server_list)
    gateway = sub.add_parser("gateway", help="payment gateways").add_subparsers(dest="verb", required=True)
    p = gateway.add_parser("list", help="the gateway registry: codes, names, capabilities, config fields")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_gateway_list)
    p = gateway.add_parser("connect", help="connect a gateway to a store, as the settings screen does")
    p.add_argument("slug")
    p.add_argument("code")
    p.add_argument("settings", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--test", action="store_true")
    p.add_argument("--base-url")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_gateway_connect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "sync"):
            return args.sync(args)
        return asyncio.run(_with_runtime(lambda: args.run(args)))
    except ValidationFailed as exc:
        return _fail("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    except (AppError, LookupError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot reach the database: {exc}")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
