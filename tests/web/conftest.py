"""Fixtures of the web tests."""

from __future__ import annotations

# The staff of a test's center get passwords (ten of them, web_support.build_center) and log
# in: with light argon2 parameters, since the pages are under test here, not the hash's cost.
from api.api_support import cheap_hashes  # noqa: F401
