"""Handles a process opened (sockets, files) and its forked children: each child resets them."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable


def reset_in_forked_child(method: Callable[[], object]) -> None:
    """Call the bound ``method`` in every child this process forks from now on, before the child
    runs anything else, for as long as its object lives.

    ``method`` should set the parent's handles aside without using or closing them (they are
    the parent's: closing a socket can end the parent's session) and forget them, so the child
    opens its own. The object is held weakly: ``os.register_at_fork`` cannot be undone, and a
    store that was closed and dropped must not live on for the rest of the process.
    """
    ref = weakref.WeakMethod(method)

    def in_child() -> None:
        alive = ref()
        if alive is not None:
            alive()

    os.register_at_fork(after_in_child=in_child)
