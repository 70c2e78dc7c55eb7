"""Fake Stripe API from the protocol notes: Checkout Sessions, refunds, Idempotency-Key, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response


def _error(status: int, message: str, code: str | None = None, kind: str = "invalid_request_error") -> Response:
    return json_response({"error": {"type": kind, "code": code, "message": message}}, status)


class FakeStripe(FakeServer):
    def __init__(self, secret_key: str = "sk_test_fake", webhook_secret: str = "whsec_fake") -> None:
        super().__init__()
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}  # pi id -> {"amount", "refunded", "session"}
        self.refunds: list[dict[str, Any]] = []
        self.idempotency: dict[str, tuple[str, Response]] = {}
        self._ids = itertools.count(1)

    def route(self, req: Request) -> Response:
        if req.bearer() != self.secret_key:
            return _error(401, "Invalid API Key provided")
        if req.method == "GET":
            return self._get(req)
        key = req.headers.get("idempotency-key")
        if key and key in self.idempotency:
            params, saved = self.idempotency[key]
            if params != req.body.decode():
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters",
                    kind="idempotency_error",
                )
            return saved
        handler = {"/v1/checkout/sessions": self._create_session, "/v1/refunds": self._refund}.get(req.path)
        resp = handler(req.form()) if handler else _error(404, "Unrecognized request URL")
        if key:
            self.idempotency[key] = (req.body.decode(), resp)
        return resp

    def _get(self, req: Request) -> Response:
        if req.path == "/v1/balance":
            return json_response({"object": "balance", "available": [{"amount": 0, "currency": "usd"}]})
        if req.path.startswith("/v1/payment_intents/"):
            intent = self.intents.get(req.path.removeprefix("/v1/payment_intents/"))
            if intent is None:
                return _error(404, "No such payment_intent", "resource_missing")
            session = self.sessions[intent["session"]]
            return json_response(
                {"id": req.path.rsplit("/", 1)[1], "object": "payment_intent", "metadata": session["metadata"]}
            )
        session = self.sessions.get(req.path.removeprefix("/v1/checkout/sessions/"))
        return json_response(session) if session else _error(404, "No such checkout.session", "resource_missing")

    def _create_session(self, form: dict[str, str]) -> Response:
        if form.get("mode") != "payment" or not form.get("success_url"):
            return _error(400, "Missing required param: mode/success_url", "parameter_missing")
        try:
            unit = int(form["line_items[0][price_data][unit_amount]"])
            quantity = int(form["line_items[0][quantity]"])
        except (KeyError, ValueError):
            return _error(400, "Invalid line_items", "parameter_invalid_integer")
        session_id = f"cs_test_{next(self._ids):024d}"
        metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
        self.sessions[session_id] = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": unit * quantity,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": metadata,
            "success_url": form["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        return json_response(self.sessions[session_id])

    def _refund(self, form: dict[str, str]) -> Response:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(400, "No such payment_intent", "resource_missing")
        amount = int(form.get("amount", intent["amount"] - intent["refunded"]))
        if intent["refunded"] >= intent["amount"]:
            return _error(400, "Charge has already been refunded.", "charge_already_refunded")
        if intent["refunded"] + amount > intent["amount"]:
            return _error(400, "Refund amount is greater than unrefunded amount on charge", "amount_too_large")
        intent["refunded"] += amount
        refund = {
            "id": f"re_{next(self._ids):024d}",
            "object": "refund",
            "amount": amount,
            "currency": self.sessions[intent["session"]]["currency"],
            "payment_intent": form["payment_intent"],
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return json_response(refund)

    def refund_in_dashboard(self, intent_id: str, amount: int) -> dict[str, Any]:
        """The merchant refunds from the Stripe Dashboard: a refund with no metadata of ours."""
        answer = self._refund({"payment_intent": intent_id, "amount": str(amount)})
        assert answer.status == 200
        return self.refunds[-1]

    def charge(self, intent_id: str) -> dict[str, Any]:
        """The charge as charge.refunded carries it: ``amount_refunded`` is the total refunded so far."""
        intent = self.intents[intent_id]
        currency = self.sessions[intent["session"]]["currency"]
        return {
            "id": f"ch_{intent_id[3:]}",
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": intent["refunded"],
            "currency": currency,
            "payment_intent": intent_id,
            "metadata": {},
            "refunded": intent["refunded"] == intent["amount"],
        }

    # -- outside the API ----------------------------------------------------------------------------------

    def complete(self, session_id: str, *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The shopper pays: the session completes and Stripe posts a signed checkout.session.completed."""
        session = self.sessions[session_id]
        intent_id = f"pi_{next(self._ids):024d}"
        self.intents[intent_id] = {"amount": session["amount_total"], "refunded": 0, "session": session_id}
        session.update(status="complete", payment_status="paid", payment_intent=intent_id, url=None)
        return self.event("checkout.session.completed", session, timestamp=timestamp)

    def event(
        self, event_type: str, obj: dict[str, Any], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "id": f"evt_{next(self._ids):024d}",
                "object": "event",
                "type": event_type,
                "api_version": "2024-06-20",
                "data": {"object": obj},
            },
            indent=2,
        ).encode()
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={mac},v0=deadbeef"}
