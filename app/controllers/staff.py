"""Staff: members, roles and scope, invitations, shifts, order distribution, the permission matrix, the audit log;
and the invitation link (``/s/{slug}/join/{token}``), which needs no membership: its token is the key."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app import jobs
from app.controllers._auth import SESSION_IDENTITY, identity_id_of
from app.controllers._htmx import Form, redirect, render
from app.errors import AppError, ValidationFailed
from app.forms import staff as staff_forms
from app.i18n import get_locale
from app.i18n import gettext as _
from app.services import audit, changes, distribution, invitations, permissions, staff
from app.web.sessions import start_session


def _state(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.scope["state"]


def _secret(request: Request[Any, Any, Any]) -> str:
    return request.app.state.settings.secret_key


def _base(request: Request[Any, Any, Any]) -> str:
    return f"/s/{_state(request)['tenant'].slug}"


async def _page_context(request: Request[Any, Any, Any], **extra: Any) -> dict[str, Any]:
    slug, public = _state(request)["tenant"].slug, request.app.state.settings.public_url.rstrip("/")
    pending = await invitations.pending_invitations() if "staff.manage" in _state(request)["perms"] else []
    for row in pending:
        row["link"] = f"{public}/s/{slug}/join/{invitations.invitation_token(_secret(request), slug, row)}"
    everyone = await staff.members(active_only=False)
    return {
        "members": everyone,
        "on_shift": sum(1 for m in everyone if m.active and m.on_shift and m.role == "manager"),
        "invitations": pending,
        "roles": [(role, staff.role_label(role)) for role in staff.ROLES],
        "invitable_roles": [(role, staff.role_label(role)) for role in staff_forms.INVITABLE_ROLES],
        "scopes": [(scope, staff.scope_label(scope)) for scope in staff.SCOPES],
        "role_label": staff.role_label,
        "scope_label": staff.scope_label,
        "modes": [(mode, distribution.mode_label(mode)) for mode in distribution.MODES],
        "mode": await distribution.mode(),
        "matrix": permissions.table(),
        "matrix_roles": [staff.role_label(role) for role in permissions.ROLES],
        "invite_values": {"role": "manager", "scope": "all"},
        "invite_errors": {},
        "member_errors": {},
        "error_for": None,
        "mode_errors": {},
        **extra,
    }


class StaffController(Controller):
    path = "/staff"
    include_in_schema = False

    @get("/", name="staff:list", opt={"permission": "staff.view"})
    async def list_staff(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "staff/index.html", await _page_context(request))

    @post("/invitations", name="staff:invite", opt={"permission": "staff.manage"})
    async def invite(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        form, errors = staff_forms.validate_invite(data)
        member = _state(request)["member"]
        if form is not None:
            try:
                row, _token = await invitations.invite(
                    form, secret=_secret(request), slug=_state(request)["tenant"].slug, locale=get_locale(),
                    actor_id=member.identity_id, actor_role=member.role,
                )  # fmt: skip
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                await jobs.defer_invitation_mail(_state(request)["tenant"].slug, row["id"])
                return redirect(request, f"{_base(request)}/staff/?invited={row['id']}")
        values = {k: (data.get(k) or "")[:254] for k in ("email", "role", "scope")}
        context = await _page_context(request, invite_values=values, invite_errors=errors)
        return render(request, "staff/index.html", context, status_code=422)

    @post("/invitations/{invitation_id:int}/revoke", name="staff:revoke", opt={"permission": "staff.manage"})
    async def revoke(self, request: Request[Any, Any, Any], invitation_id: FromPath[int]) -> Redirect:
        await invitations.revoke(invitation_id, actor_id=_state(request)["member"].identity_id)
        return redirect(request, f"{_base(request)}/staff/")

    @post("/members/{identity_id:int}", name="staff:update", opt={"permission": "staff.manage"})
    async def update_member(
        self, request: Request[Any, Any, Any], identity_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        form, errors = staff_forms.validate_member(data)
        member, tenant = _state(request)["member"], _state(request)["tenant"]
        if form is not None:
            try:
                await staff.update_member(
                    tenant.id, identity_id, form, actor_id=member.identity_id, actor_role=member.role
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(request, f"{_base(request)}/staff/")
        context = await _page_context(request, member_errors=errors, error_for=identity_id)
        return render(request, "staff/index.html", context, status_code=422)

    @post("/shift", name="staff:shift", opt={"permission": "staff.view"})
    async def toggle_shift(self, request: Request[Any, Any, Any], data: Form) -> Redirect:
        identity_id = _state(request)["member"].identity_id
        await staff.set_shift(identity_id, data.get("on_shift") == "1", actor_id=identity_id)
        return redirect(request, f"{_base(request)}/staff/")

    @post("/distribution", name="staff:distribution", opt={"permission": "staff.manage"})
    async def set_distribution(self, request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        mode, errors = staff_forms.validate_mode(data)
        if mode is None:
            context = await _page_context(request, mode_errors=errors)
            return render(request, "staff/index.html", context, status_code=422)
        await staff.set_distribution(mode, actor_id=_state(request)["member"].identity_id)
        return redirect(request, f"{_base(request)}/staff/")

    @get("/audit", name="staff:audit", opt={"permission": "audit.view"})
    async def show_audit(self, request: Request[Any, Any, Any]) -> Template:
        filters = audit.parse_filters(dict(request.query_params))
        page = await audit.search(filters)
        context = {
            "page": page,
            "entries": await changes.describe_audit(page.items),
            "filters": filters,
            "query": audit.filters_query(filters),
            "entities": [(entity, audit.entity_label(entity)) for entity in audit.ENTITIES],
            "entity_label": audit.entity_label,
            "people": await staff.members(active_only=False),
            "names": await staff.names(),
        }
        return render(request, "staff/audit.html", context, fragment="staff/_audit_table.html")


class JoinController(Controller):
    """The invitation link. Public inside ``/s/{slug}``: the guard lets it through, the signed token decides."""

    path = "/join"
    include_in_schema = False

    @get("/{token:str}", name="staff:join", opt={"permission": permissions.PUBLIC})
    async def show_invitation(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
        return await _join_page(request, token, {}, {})

    @post("/{token:str}", name="staff:accept", opt={"permission": permissions.PUBLIC})
    async def accept_invitation(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: Form
    ) -> Template | Redirect:
        tenant, identity_id = _state(request)["tenant"], identity_id_of(request)
        try:
            invitation = await invitations.invitation(token, secret=_secret(request), slug=tenant.slug)
        except AppError as exc:
            return _closed(request, exc)
        form, errors = (None, {})
        if identity_id is None:
            form, errors = staff_forms.validate_accept(data, invitation["email"])
        if not errors:
            try:
                identity_id = await invitations.accept(
                    token, secret=_secret(request), slug=tenant.slug, tenant_id=tenant.id,
                    identity_id=identity_id, data=form,
                )  # fmt: skip
            except ValidationFailed as exc:
                errors = exc.errors
            except AppError as exc:
                return _closed(request, exc)
            else:
                await start_session(request, {SESSION_IDENTITY: identity_id})
                return redirect(request, f"/s/{tenant.slug}/")
        values = {"name": (data.get("name") or "")[:120]}
        return await _join_page(request, token, values, errors, status_code=422)


def _closed(request: Request[Any, Any, Any], exc: AppError) -> Template:
    """A forged, used, expired or revoked link: say so in the user's language (404 or 409)."""
    return render(request, "staff/join.html", {"problem": exc.message}, status_code=exc.status_code)


async def _join_page(
    request: Request[Any, Any, Any], token: str, values: dict, errors: dict, status_code: int = 200
) -> Template:
    tenant = _state(request)["tenant"]
    try:
        invitation = await invitations.invitation(token, secret=_secret(request), slug=tenant.slug)
    except AppError as exc:
        return _closed(request, exc)
    identity_id = identity_id_of(request)
    context = {
        "problem": None,
        "invitation": invitation,
        "role": staff.role_label(invitation["role"]),
        "logged_in": identity_id is not None,
        "has_account": await invitations.has_account(invitation["email"]),
        "values": values,
        "errors": errors,
        "token": token,
        "login_url": f"/login?next=/s/{tenant.slug}/join/{token}",
        "title": _("Join %(store)s", store=tenant.name),
    }
    return render(request, "staff/join.html", context, status_code=status_code)
