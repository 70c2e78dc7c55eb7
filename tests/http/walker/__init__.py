"""The route walker's parts: the table of entries, form filling, hostile values and state checks."""
