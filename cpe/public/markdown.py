"""Notices use the core's safe Markdown (kept importable here for existing callers)."""

from cpe.core.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "render_markdown"]
