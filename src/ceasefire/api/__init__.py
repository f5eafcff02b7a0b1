"""The HTTP API of the center (FastAPI), a thin layer over the library: see docs/api.md."""

from ceasefire.api.app import create_app

__all__ = ["create_app"]
