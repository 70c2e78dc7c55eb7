"""Payment gateways: pure adapters (stdlib, httpx, cryptography only), reached via the registry."""
