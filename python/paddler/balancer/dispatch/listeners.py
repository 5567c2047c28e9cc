"""Callbacks subscribed to one kind of event, each kept: a second subscriber
never replaces the first, as an assigned hook attribute would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Listeners(Generic[T]):
    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: tuple[Callable[[T], None], ...] = ()

    def subscribe(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Adds `callback`; returns what removes it again."""
        self._callbacks = (*self._callbacks, callback)

        def unsubscribe() -> None:
            self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return unsubscribe

    def emit(self, value: T) -> None:
        # A tuple, replaced on change: a callback that subscribes or leaves
        # while this runs changes the next emit, not this one.
        for callback in self._callbacks:
            callback(value)
