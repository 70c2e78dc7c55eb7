"""HTTP controllers, one module per area; ``ROUTE_HANDLERS`` is what ``asgi`` mounts."""

from __future__ import annotations

from litestar import Router

from app.controllers._auth import staff_guard
from app.controllers._automation import kick_automation
from app.controllers.auth import AuthController
from app.controllers.automation import AutomationSettingsController
from app.controllers.customers import CustomerController
from app.controllers.dashboard import DashboardController
from app.controllers.health import HealthController
from app.controllers.hooks import HookController
from app.controllers.imports import ImportController
from app.controllers.metrics import MetricsController
from app.controllers.order_imports import OrderImportController
from app.controllers.orders import OrderController
from app.controllers.products import ProductController
from app.controllers.reports import ReportController
from app.controllers.segments import SegmentController
from app.controllers.settings import (
    FormSettingsController,
    PaymentSettingsController,
    SettingsController,
    StatusSettingsController,
)
from app.controllers.shop import EmbedController, ShopController
from app.controllers.staff import JoinController, StaffController
from app.controllers.staff_results import StaffResultsController
from app.controllers.tasks import TaskController

STAFF_ROUTER = Router(
    path="/s/{slug:str}",
    route_handlers=[
        DashboardController,
        OrderController,
        CustomerController,
        SegmentController,
        ReportController,
        ProductController,
        OrderImportController,
        ImportController,
        SettingsController,
        FormSettingsController,
        StatusSettingsController,
        PaymentSettingsController,
        StaffController,
        JoinController,
        TaskController,
        AutomationSettingsController,
        StaffResultsController,
    ],
    guards=[staff_guard],
    after_response=kick_automation,
    include_in_schema=False,
)

# Shoppers and gateways cause events too (orders, payments): rules run right after their requests.
EVENT_ROUTER = Router(path="/", route_handlers=[ShopController, HookController], after_response=kick_automation)

ROUTE_HANDLERS = [AuthController, HealthController, MetricsController, STAFF_ROUTER, EVENT_ROUTER, EmbedController]
