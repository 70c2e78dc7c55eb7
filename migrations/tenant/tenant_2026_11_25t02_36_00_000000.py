import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-25T02:36:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order numbers, customer identity indexes, default statuses and order form"


class RawTable(Table):
    pass


STATUSES = [
    ("new", "new", 10, "#6366f1", ["approval", "assembling", "cancelled"],
     {"ru": "Новый", "en": "New", "uk": "Новий"}),
    ("approval", "approval", 20, "#f59e0b", ["assembling", "cancelled"],
     {"ru": "Согласование", "en": "Awaiting confirmation", "uk": "Погодження"}),
    ("assembling", "assembling", 30, "#0ea5e9", ["delivery", "cancelled"],
     {"ru": "Комплектуется", "en": "Being packed", "uk": "Комплектується"}),
    ("delivery", "delivery", 40, "#8b5cf6", ["complete", "cancelled"],
     {"ru": "Доставляется", "en": "Shipped", "uk": "Доставляється"}),
    ("complete", "complete", 50, "#10b981", [], {"ru": "Выполнен", "en": "Completed", "uk": "Виконано"}),
    ("cancelled", "cancel", 60, "#ef4444", [], {"ru": "Отменён", "en": "Cancelled", "uk": "Скасовано"}),
]

DEFAULT_FIELDS = [
    {"key": "name", "enabled": True, "required": True},
    {"key": "phone", "enabled": True, "required": True},
    {"key": "email", "enabled": True, "required": False},
    {"key": "address", "enabled": True, "required": False},
    {"key": "comment", "enabled": True, "required": False},
]
DEFAULT_DELIVERY = [
    {"code": "pickup", "price_minor": 0, "address": False,
     "name": {"ru": "Самовывоз", "en": "Pick-up", "uk": "Самовивіз"}},
    {"code": "courier", "price_minor": 30000, "address": True,
     "name": {"ru": "Курьер", "en": "Courier", "uk": "Кур’єр"}},
]
DEFAULT_THANKS = {
    "ru": "Спасибо! Мы получили заказ и скоро свяжемся с вами.",
    "en": "Thank you! We have your order and will be in touch soon.",
    "uk": "Дякуємо! Ми отримали замовлення й незабаром зв’яжемося з вами.",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tenant", description=DESCRIPTION)

    async def run() -> None:
        await RawTable.raw("CREATE SEQUENCE IF NOT EXISTS order_number_seq START 1001")
        await RawTable.raw(
            "CREATE UNIQUE INDEX customer_phone_unique ON customer (phone) WHERE phone IS NOT NULL AND merged_into IS NULL"
        )
        await RawTable.raw(
            "CREATE UNIQUE INDEX customer_email_unique ON customer (email) WHERE email IS NOT NULL AND merged_into IS NULL"
        )
        await RawTable.raw("CREATE INDEX customer_event_customer ON customer_event (customer, at DESC)")
        await RawTable.raw("CREATE INDEX orders_created ON orders (created_at DESC, id DESC)")
        await RawTable.raw("CREATE INDEX orders_status ON orders (status, created_at DESC)")
        await RawTable.raw("CREATE INDEX orders_customer ON orders (customer)")
        await RawTable.raw("CREATE INDEX orders_phone ON orders (phone)")
        await RawTable.raw("CREATE INDEX order_line_order ON order_line (\"order\")")
        await RawTable.raw("CREATE INDEX order_change_order ON order_change (\"order\", at)")
        for code, group, position, color, allowed, names in STATUSES:
            await RawTable.raw(
                'INSERT INTO order_status (code, name, names, "group", position, color, allowed, active) '
                "VALUES ({}, {}, {}::jsonb, {}, {}, {}, {}::jsonb, true) ON CONFLICT (code) DO NOTHING",
                code, names["en"], json.dumps(names), group, position, color, json.dumps(allowed),
            )
        await RawTable.raw(
            "INSERT INTO order_form (code, title, titles, fields, goods_mode, goods, max_quantity, delivery, thanks,"
            " languages, allowed_origins, active, updated_at) VALUES ('order', 'Order', {}::jsonb, {}::jsonb, 'all',"
            " '[]'::jsonb, 10, {}::jsonb, {}::jsonb, '[\"ru\", \"en\", \"uk\"]'::jsonb, '[]'::jsonb, true, now())"
            " ON CONFLICT (code) DO NOTHING",
            json.dumps({"ru": "Оформление заказа", "en": "Place an order", "uk": "Оформлення замовлення"}),
            json.dumps(DEFAULT_FIELDS), json.dumps(DEFAULT_DELIVERY), json.dumps(DEFAULT_THANKS),
        )

    manager.add_raw(run)
    return manager
