"""Unit tests of the gateway adapters: signature vectors and end-to-end runs against local fakes."""
