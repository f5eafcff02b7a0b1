"""The center's web picture: server-rendered pages over the library, for people in a browser.

A capability of the center (:data:`ceasefire.center.CAPABILITIES`): :func:`plug` mounts the
pages at ``/`` beside the API, so ``ceasefire serve`` and every app of a
:class:`~ceasefire.center.Center` serve them. Scripts, styles and the base map are shipped in
``static/`` (``make`` builds ``static/vendor`` from ``frontend/``'s npm packages): nothing is
fetched from outside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ceasefire.center import Center


def plug(center: Center) -> None:
    """Mount the pages at ``/`` of the center's app."""

    def pages(c: Center) -> Any:
        from ceasefire.web.app import create_web  # the templates only when served

        return create_web(c)

    center.add_app("/", pages)


__all__ = ["plug"]
