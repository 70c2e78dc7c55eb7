"""Local fake gateway servers written from the protocol notes (not from the adapters) for end-to-end tests."""
