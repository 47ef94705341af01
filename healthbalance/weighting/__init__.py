"""Group-aware sample weights."""

__all__ = []
