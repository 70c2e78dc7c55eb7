"""Piccolo tables: ``control`` for the shared catalog, the other modules for each store's database."""
