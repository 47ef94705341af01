"""Small shared helpers."""

__all__ = []
