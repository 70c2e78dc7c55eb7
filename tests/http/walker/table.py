"""The walker's table: one entry per route of the app (method and path as the route table spells them).

An entry says which page holds the route's form, how to send it, and what a refusal may still write. How a
path parameter is filled is said once per parameter name in PARAMS, and an entry may override it.
A route the table does not list fails ``test_every_route_has_an_entry``: add its entry when you add a route.
An entry whose route is gone does no harm (routes on other branches are listed ahead of their merge).
"""

from __future__ import annotations

from dataclasses import dataclass, field

S = "/s/{slug}"
F = "/f/{slug}"

# Path parameter -> SQL on the store's database giving a real value (the newest row), or a literal.
PARAMS: dict[str, str] = {
    "order_id": "SELECT max(id) FROM orders",
    "customer_id": "SELECT max(id) FROM customer",
    "view_id": "SELECT max(id) FROM saved_view",
    "payment_id": "SELECT max(id) FROM payment",
    "segment_id": "SELECT max(id) FROM segment",
    "offer_id": "SELECT max(id) FROM offer",
    "job_id": "SELECT max(id) FROM import_job",
    "connection_id": "SELECT max(id) FROM payment_connection",
    "invitation_id": "SELECT max(id) FROM staff_invitation",
    "task_id": "SELECT max(id) FROM task",
    "rule_id": "SELECT max(id) FROM automation_rule",
    "merge_id": "SELECT max(id) FROM customer_merge",
    "token": "SELECT token FROM orders ORDER BY id DESC LIMIT 1",
    "status_code": "SELECT code FROM order_status ORDER BY id DESC LIMIT 1",
    "form_code": "SELECT code FROM order_form ORDER BY id LIMIT 1",
    "identity_id": "=analyst",  # the walker's analyst: editing the owner's own membership proves nothing
    "join_token": "=invite_token",  # an open invitation the fixture made
    "payable_token": "=payable_token",  # an order whose total the sandbox accepts (…00)
    "gateway": "=sandbox",
    "hook_connection": "=hook_connection",  # the fixture's sandbox connection, whose secret the walker signs with
    "code": "=order",
    "file_path": "=js/app.js",
    "path": "=openapi.json",
    "sandbox_query": "=sandbox_query",
    "upload_token": "=order_upload",  # an orders file the fixture uploaded for the order history import
}


@dataclass(frozen=True)
class Entry:
    page: str | None = None  # the GET page holding this POST's form; None: the route's own URL
    form: str | None = None  # XPath of the form when its action is not the route's URL
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> key of PARAMS
    query: str = ""  # appended to the URL (with the walker's ?lang on shoppers' pages)
    valid: dict[str, str] = field(default_factory=dict)  # field name (fnmatch pattern) -> a valid value
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # file inputs' valid uploads
    raw: bytes | None = None  # a body that is not a form (notifications)
    last: bool = False  # destroys what other routes need: walked after the others
    own_session: bool = False  # ends or changes the session: walked in a throw-away one
    changes: frozenset[str] = frozenset()  # tables a refusal may still write, and why (comment)
    anonymous: bool = False  # a shopper's, a gateway's or anyone's route: walked without a session


ORDER = f"{S}/orders/{{order_id}}"
CUSTOMER = f"{S}/customers/{{customer_id}}"
SEGMENT = f"{S}/segments/{{segment_id}}"
JOB = f"{S}/imports/{{job_id}}"
TASK = f"{S}/tasks/{{task_id}}"
RULE = f"{S}/settings/automation/{{rule_id}}"
CSV = b"name,phone,email\nWalker Import,+79161230000,import@example.com\n"
FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><yml_catalog><shop><offers>'
    b'<offer id="walk"><name>Walker kettle</name><price>990</price><vendorCode>W-1</vendorCode></offer>'
    b"</offers></shop></yml_catalog>"
)
# The order history import's walker file (Shopify's export columns, one order of one line).
ORDERS_CSV = (
    b"Name,Email,Financial Status,Fulfillment Status,Currency,Total,Created at,Lineitem quantity,Lineitem name,"
    b"Lineitem price\n#W-1,walker-orders@example.com,paid,fulfilled,RUB,990.00,2025-05-11 09:55:16 +0300,1,"
    b"Walker kettle,990.00\n"
)
PUBLIC = dict(anonymous=True)
RULE_ROW = {"r0_field": "orders_count", "r0_op": "gte", "r0_value": "1"}  # a segment's one condition
# A shopper's draft and an opened form are what the form is for: the draft endpoint keeps what was typed.
DRAFTS = frozenset({"form_draft", "customer_event"})
ROLLUPS = frozenset({"cohort_month", "customer_fact", "customer_month", "goods_day", "order_fact", "sales_day"})
PAID = frozenset({"payment", "payment_event", "customer_event"}) | ROLLUPS

ENTRIES: dict[str, Entry] = {
    # Anyone
    "GET /": Entry(**PUBLIC),
    "GET /login": Entry(**PUBLIC),
    "POST /login": Entry(**PUBLIC, page="/login", own_session=True),
    "GET /signup": Entry(**PUBLIC),
    "POST /signup": Entry(**PUBLIC, page="/signup", own_session=True),
    "GET /stores": Entry(),
    "POST /logout": Entry(own_session=True, page=f"{S}/orders", form="//form[@action='/logout']"),
    "GET /lang/{code:str}": Entry(params={"code": "=uk"}, query="?next=/login"),
    "GET /healthz": Entry(**PUBLIC),
    "GET /readyz": Entry(**PUBLIC),
    "GET /metrics": Entry(**PUBLIC),
    "GET /static/{file_path:path}": Entry(**PUBLIC),
    "GET /embed.js": Entry(**PUBLIC),
    # Staff: orders
    "GET /s/{slug:str}": Entry(),
    "GET /s/{slug:str}/orders": Entry(),
    "GET /s/{slug:str}/orders/new": Entry(),
    "POST /s/{slug:str}/orders/new": Entry(page=f"{S}/orders/new", valid={"sku_0": "K-1", "qty_0": "1"}),
    "GET /s/{slug:str}/orders/{order_id:int}": Entry(),
    "GET /s/{slug:str}/orders/{order_id:int}/invoice": Entry(),
    "POST /s/{slug:str}/orders/{order_id:int}/manager": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/{order_id:int}/status": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/{order_id:int}/edit": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/{order_id:int}/payment-link": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/{order_id:int}/payments/{payment_id:int}/received": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/{order_id:int}/refund": Entry(page=ORDER),
    "POST /s/{slug:str}/orders/views": Entry(page=f"{S}/orders"),
    "POST /s/{slug:str}/orders/views/{view_id:int}/delete": Entry(page=f"{S}/orders", last=True),
    # Staff: customers
    "GET /s/{slug:str}/customers": Entry(),
    "GET /s/{slug:str}/customers/duplicates": Entry(),
    "GET /s/{slug:str}/customers/import": Entry(),
    "POST /s/{slug:str}/customers/import": Entry(
        page=f"{S}/customers/import", files={"file": ("customers.csv", CSV, "text/csv")}
    ),
    "GET /s/{slug:str}/customers/{customer_id:int}": Entry(),
    "POST /s/{slug:str}/customers/{customer_id:int}/notes": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/{customer_id:int}/tasks": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/{customer_id:int}/lists": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/{customer_id:int}/lists/{segment_id:int}/remove": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/{customer_id:int}/tags": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/{customer_id:int}/contacts": Entry(page=CUSTOMER),
    "POST /s/{slug:str}/customers/merge": Entry(page=f"{S}/customers/duplicates", last=True),
    "POST /s/{slug:str}/customers/merges/{merge_id:int}/undo": Entry(page=CUSTOMER, last=True),
    # Staff: segments and reports
    "GET /s/{slug:str}/segments": Entry(),
    "GET /s/{slug:str}/segments/new": Entry(),
    "POST /s/{slug:str}/segments/new": Entry(page=f"{S}/segments/new", valid=RULE_ROW),
    "POST /s/{slug:str}/segments/preview": Entry(
        page=f"{S}/segments/new", form="//form[@id='segment-editor']", valid=RULE_ROW
    ),
    "POST /s/{slug:str}/segments/rfm": Entry(page=f"{S}/segments"),
    "GET /s/{slug:str}/segments/portrait": Entry(),
    "GET /s/{slug:str}/segments/{segment_id:int}": Entry(),
    "POST /s/{slug:str}/segments/{segment_id:int}": Entry(page=SEGMENT, valid=RULE_ROW),
    "GET /s/{slug:str}/segments/{segment_id:int}/export": Entry(),
    "POST /s/{slug:str}/segments/{segment_id:int}/delete": Entry(page=SEGMENT, last=True),
    "GET /s/{slug:str}/reports": Entry(),
    "GET /s/{slug:str}/staff/results": Entry(),
    # Staff: catalog and imports
    "GET /s/{slug:str}/products": Entry(),
    "GET /s/{slug:str}/products/{offer_id:int}": Entry(),
    "POST /s/{slug:str}/products/{offer_id:int}": Entry(page=f"{S}/products/{{offer_id}}"),
    "GET /s/{slug:str}/imports": Entry(),
    "POST /s/{slug:str}/imports": Entry(page=f"{S}/imports", files={"files": ("feed.xml", FEED, "text/xml")}),
    "POST /s/{slug:str}/imports/feed": Entry(page=f"{S}/imports"),
    "GET /s/{slug:str}/imports/orders": Entry(),
    "POST /s/{slug:str}/imports/orders": Entry(
        page=f"{S}/imports/orders", files={"files": ("orders.csv", ORDERS_CSV, "text/csv")}, valid={"format": "shopify"}
    ),
    "POST /s/{slug:str}/imports/orders/{token:str}/apply": Entry(
        page=f"{S}/imports/orders", params={"token": "upload_token"}
    ),
    "GET /s/{slug:str}/imports/{job_id:int}": Entry(),
    "GET /s/{slug:str}/imports/{job_id:int}/progress": Entry(),
    "GET /s/{slug:str}/imports/{job_id:int}/report.csv": Entry(),
    "POST /s/{slug:str}/imports/{job_id:int}/mapping": Entry(page=JOB),
    "POST /s/{slug:str}/imports/{job_id:int}/apply": Entry(page=JOB),
    "POST /s/{slug:str}/imports/{job_id:int}/cancel": Entry(page=JOB, last=True),
    # Staff: settings
    "GET /s/{slug:str}/settings": Entry(),
    "GET /s/{slug:str}/settings/store": Entry(),
    "POST /s/{slug:str}/settings/store": Entry(page=f"{S}/settings/store"),
    "GET /s/{slug:str}/settings/forms": Entry(),
    "GET /s/{slug:str}/settings/forms/{code:str}": Entry(params={"code": "form_code"}),
    # A hostile value in its "active" box may switch the form off, which the shoppers' routes need.
    "POST /s/{slug:str}/settings/forms/{code:str}": Entry(
        page=f"{S}/settings/forms/{{code}}", params={"code": "form_code"}, last=True
    ),
    "GET /s/{slug:str}/settings/statuses": Entry(),
    "POST /s/{slug:str}/settings/statuses": Entry(page=f"{S}/settings/statuses", valid={"name_*": "Walker status"}),
    "POST /s/{slug:str}/settings/statuses/{code:str}": Entry(
        page=f"{S}/settings/statuses", params={"code": "status_code"}
    ),
    "GET /s/{slug:str}/settings/payments": Entry(),
    "POST /s/{slug:str}/settings/payments": Entry(
        page=f"{S}/settings/payments", query="?code=sandbox", valid={"secret": "walker-sandbox-secret-4567"}
    ),
    "POST /s/{slug:str}/settings/payments/{connection_id:int}/check": Entry(page=f"{S}/settings/payments"),
    "POST /s/{slug:str}/settings/payments/{connection_id:int}": Entry(
        page=f"{S}/settings/payments", valid={"name_*": "Walker pay"}
    ),
    # Disabling or deleting the newest connection would take the shop's Pay button from the routes walked after.
    "POST /s/{slug:str}/settings/payments/{connection_id:int}/enable": Entry(page=f"{S}/settings/payments"),
    "POST /s/{slug:str}/settings/payments/{connection_id:int}/disable": Entry(page=f"{S}/settings/payments", last=True),
    "POST /s/{slug:str}/settings/payments/{connection_id:int}/delete": Entry(page=f"{S}/settings/payments", last=True),
    "GET /s/{slug:str}/settings/automation": Entry(),
    "GET /s/{slug:str}/settings/automation/new": Entry(),
    "POST /s/{slug:str}/settings/automation/new": Entry(
        page=f"{S}/settings/automation/new", valid={"task_title": "Walker task"}
    ),
    "GET /s/{slug:str}/settings/automation/{rule_id:int}": Entry(),
    "POST /s/{slug:str}/settings/automation/{rule_id:int}": Entry(page=RULE),
    "POST /s/{slug:str}/settings/automation/{rule_id:int}/delete": Entry(page=RULE, last=True),
    # Staff: people and tasks
    "GET /s/{slug:str}/staff": Entry(),
    "GET /s/{slug:str}/staff/audit": Entry(),
    "POST /s/{slug:str}/staff/invitations": Entry(page=f"{S}/staff"),
    "POST /s/{slug:str}/staff/invitations/{invitation_id:int}/revoke": Entry(page=f"{S}/staff", last=True),
    "POST /s/{slug:str}/staff/distribution": Entry(page=f"{S}/staff"),
    "POST /s/{slug:str}/staff/shift": Entry(page=f"{S}/staff"),
    "POST /s/{slug:str}/staff/members/{identity_id:int}": Entry(page=f"{S}/staff"),
    "GET /s/{slug:str}/join/{token:str}": Entry(**PUBLIC, params={"token": "join_token"}),
    "POST /s/{slug:str}/join/{token:str}": Entry(
        **PUBLIC, page=f"{S}/join/{{token}}", params={"token": "join_token"}, last=True, own_session=True
    ),
    "GET /s/{slug:str}/tasks": Entry(),
    "GET /s/{slug:str}/tasks/new": Entry(),
    "POST /s/{slug:str}/tasks/new": Entry(page=f"{S}/tasks/new"),
    "GET /s/{slug:str}/tasks/{task_id:int}": Entry(),
    "POST /s/{slug:str}/tasks/{task_id:int}/edit": Entry(page=TASK),
    "POST /s/{slug:str}/tasks/{task_id:int}/comments": Entry(page=TASK),
    "POST /s/{slug:str}/tasks/{task_id:int}/done": Entry(page=TASK, last=True),
    # Shoppers and gateways
    "GET /f/{slug:str}": Entry(**PUBLIC),  # the store's default form (issue 14, h1)
    "GET /f/{slug:str}/{code:str}": Entry(**PUBLIC),
    "POST /f/{slug:str}/{code:str}": Entry(**PUBLIC, page=f"{F}/{{code}}", changes=DRAFTS, valid={"qty_*": "1"}),
    "POST /f/{slug:str}/{code:str}/draft": Entry(
        **PUBLIC, page=f"{F}/{{code}}", form="//form[@id='order-form']", changes=DRAFTS
    ),
    "GET /f/{slug:str}/o/{token:str}": Entry(**PUBLIC),
    # A gateway that sends the shopper back with a POST (WayForPay): answered by a redirect to the page.
    "POST /f/{slug:str}/o/{token:str}": Entry(**PUBLIC),
    # A payment the gateway turned down stays on record as a failed attempt (on the timeline and in the rollups).
    "POST /f/{slug:str}/o/{token:str}/pay/{connection_id:int}": Entry(
        **PUBLIC, page=f"{F}/o/{{token}}", changes=PAID, params={"token": "payable_token"}
    ),
    "GET /f/{slug:str}/o/{token:str}/invoice/{connection_id:int}": Entry(**PUBLIC),
    "GET /f/{slug:str}/sandbox/pay": Entry(**PUBLIC, query="?{sandbox_query}"),
    "POST /f/{slug:str}/sandbox/pay": Entry(**PUBLIC, page=f"{F}/sandbox/pay?{{sandbox_query}}"),
    # A correctly signed notification for the fixture's payment, then hostile values in each of its fields.
    "POST /hooks/{slug:str}/{gateway:str}/{connection_id:int}": Entry(
        **PUBLIC, raw=b'{"event": "walker"}', params={"connection_id": "hook_connection"}, changes=PAID
    ),
}
# Gateways that post each kind of notification to its own URL (CloudPayments: check, pay, fail, ...).
ENTRIES["POST /hooks/{slug:str}/{gateway:str}/{connection_id:int}/{kind:str}"] = Entry(
    **PUBLIC, raw=b'{"event": "walker"}', params={"connection_id": "hook_connection", "kind": "=pay"}, changes=PAID
)
# Litestar's OpenAPI pages (until /schema is turned off): read-only, anyone.
for _path in ("", "/redoc", "/openapi.yml", "/openapi.yaml", "/openapi.json", "/elements", "/rapidoc", "/swagger",
              "/{path:str}", "/oauth2-redirect.html"):  # fmt: skip
    ENTRIES[f"GET /schema{_path}"] = Entry(**PUBLIC)
