"""Per-group evaluation metrics and reports."""

__all__ = []
