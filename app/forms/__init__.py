"""Input schemas and validation per area: ``validate_*(raw) -> (data | None, errors)``."""
