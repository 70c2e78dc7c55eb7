"""Tenancy: the only code that touches engines, pools and store databases.

Modules: ``engine`` (routed and control engines, a leaf that tables may import), ``pools``
(the pool registry), ``runtime`` (start/stop, ``bind_tenant``, ``current_tenant``, store lookup),
``provision`` (create/drop store databases), ``migrate`` (control, templates, every store),
``middleware`` (binds the store named in the URL), ``embedded`` (the bundled PostgreSQL).
"""

from __future__ import annotations

import os

# Piccolo's migration machinery finds its engine through this module.
os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
