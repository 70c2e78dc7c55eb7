"""Fake Robokassa written from the protocol notes: hosted form, ResultURL, OpStateExt XML, JWT refund API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlencode

from tests.fakes.gateways._server import FakeServer, Request, Response, json_response

NS = "http://merchant.roboxchange.com/WebService/"


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeRobokassa(FakeServer):
    def __init__(
        self,
        login: str = "demo",
        password1: str = "pass_one",
        password2: str = "pass_two",
        password3: str = "pass_three",
        algorithm: str = "md5",
    ) -> None:
        super().__init__()
        self.login, self.p1, self.p2, self.p3, self.algorithm = (
            login,
            password1,
            password2,
            password3,
            algorithm,
        )
        self.operations: dict[str, dict[str, Any]] = {}
        self.refund_requests: dict[str, dict[str, Any]] = {}
        self.refund_receipts: list[list[dict[str, Any]]] = []
        self.result_bodies: dict[str, bytes] = {}  # the ResultURL POST Robokassa would send, per InvId

    def _hash(self, text: str) -> str:
        return hashlib.new(self.algorithm, text.encode()).hexdigest()

    def route(self, req: Request) -> Response:
        if req.path == "/Merchant/Index.aspx" and req.method == "POST":
            return self._pay(req.form())
        if req.path == "/Merchant/WebService/Service.asmx/OpStateExt":
            return self._op_state(req.query)
        if req.path == "/RefundService/Refund/Create":
            return self._refund(req.body.decode())
        if req.path == "/RefundService/Refund/GetState":
            found = self.refund_requests.get(req.query.get("id", ""))
            return json_response(found or {"message": "Id is invalid or request id does not exist"})
        return Response(404, b"not found", "text/plain")

    def _pay(self, form: dict[str, str]) -> Response:
        """The browser posts the form; a good signature lets the shopper pay (the fake pays at once)."""
        shp = [f"{k}={form[k]}" for k in sorted(k for k in form if k.lower().startswith("shp"))]
        receipt = [form["Receipt"]] if "Receipt" in form else []
        signed = ":".join([form["MerchantLogin"], form["OutSum"], form["InvId"], *receipt, self.p1, *shp])
        if form["MerchantLogin"] != self.login or self._hash(signed) != form["SignatureValue"].lower():
            return Response(200, "Ошибка: неверные параметры (signature)".encode(), "text/html; charset=utf-8")
        if receipt:
            items = json.loads(unquote(receipt[0]))["items"]
            if sum(Decimal(str(i["sum"])) for i in items) != Decimal(form["OutSum"]):
                return Response(200, "Ошибка: сумма чека".encode(), "text/html; charset=utf-8")
        inv_id, out_sum = form["InvId"], Decimal(form["OutSum"])
        self.operations[inv_id] = {
            "out_sum": out_sum,
            "op_key": f"{uuid.uuid4()}-fake".upper(),
            "state": 100,
            "refunded": Decimal(0),
        }
        # Robokassa reports OutSum with 6 decimals and (in some shops) an upper-case signature.
        result_sum = f"{out_sum:.6f}"
        sig = self._hash(f"{result_sum}:{inv_id}:{self.p2}").upper()
        self.result_bodies[inv_id] = urlencode(
            {
                "out_summ": result_sum,
                "OutSum": result_sum,
                "inv_id": inv_id,
                "InvId": inv_id,
                "crc": sig,
                "SignatureValue": sig,
                "PaymentMethod": "BankCard",
                "IncSum": result_sum,
                "IncCurrLabel": "BankCardPSR",
                "IsTest": form.get("IsTest", "0"),
                "EMail": form.get("Email", ""),
                "Fee": "0.000000",
            }
        ).encode()
        return Response(200, "<html>Оплата прошла успешно</html>".encode(), "text/html; charset=utf-8")

    def _op_state(self, query: dict[str, str]) -> Response:
        inv_id = query.get("InvoiceID", "")
        expected = self._hash(f"{query.get('MerchantLogin')}:{inv_id}:{self.p2}")
        if query.get("MerchantLogin") != self.login:
            return self._xml("<Result><Code>2</Code><Description>Shop not found</Description></Result>")
        if expected != query.get("Signature", "").lower():
            return self._xml("<Result><Code>1</Code><Description>Wrong signature</Description></Result>")
        op = self.operations.get(inv_id)
        if op is None:
            return self._xml("<Result><Code>3</Code><Description>Not found</Description></Result>")
        return self._xml(
            f"<Result><Code>0</Code></Result><State><Code>{op['state']}</Code>"
            f"<RequestDate>2024-01-01T00:00:00</RequestDate><StateDate>2024-01-01T00:00:00</StateDate></State>"
            f"<Info><IncCurrLabel>BankCardPSR</IncCurrLabel><IncSum>{op['out_sum']:.6f}</IncSum>"
            f"<OutCurrLabel>RUB</OutCurrLabel><OutSum>{op['out_sum']:.6f}</OutSum><OpKey>{op['op_key']}</OpKey></Info>"
        )

    @staticmethod
    def _xml(inner: str) -> Response:
        head = '<?xml version="1.0" encoding="utf-8"?>'
        body = f'{head}<OperationStateResponse xmlns="{NS}">{inner}</OperationStateResponse>'
        return Response(200, body.encode(), "text/xml; charset=utf-8")

    def _refund(self, token: str) -> Response:
        header, payload, sig = token.split(".")
        mac = hmac.new(self.p3.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64url_decode(sig), mac):
            return json_response({"success": False, "message": "InvalidSignature", "requestId": None})
        data = json.loads(_b64url_decode(payload))
        op = next((o for o in self.operations.values() if o["op_key"] == data.get("OpKey")), None)
        if op is None:
            return json_response({"success": False, "message": "OperationNotFound", "requestId": None})
        amount = Decimal(str(data.get("RefundSum", op["out_sum"] - op["refunded"])))
        items = data.get("InvoiceItems")
        if items is not None:
            self.refund_receipts.append(items)
            total = sum(Decimal(str(i["Cost"])) * Decimal(str(i["Quantity"])) for i in items)
            if total.quantize(Decimal("0.01")) != amount.quantize(Decimal("0.01")):
                return json_response({"success": False, "message": "InvoiceItemsSumMismatch", "requestId": None})
        if op["refunded"] + amount > op["out_sum"]:
            return json_response({"success": False, "message": "NotEnoughOperationFunds", "requestId": None})
        op["refunded"] += amount
        request_id = str(uuid.uuid4())
        self.refund_requests[request_id] = {
            "requestId": request_id,
            "amount": float(amount),
            "label": "finished",
        }
        return json_response({"success": True, "message": None, "requestId": request_id})
