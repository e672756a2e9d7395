"""reset_in_forked_child: what a forked child does with the handles its parent opened."""

from __future__ import annotations

import gc
import multiprocessing
import os
import weakref

from taskbridge.plugin import reset_in_forked_child


class Handles:
    """Something holding a process's handles, as a store's connections do."""

    def __init__(self) -> None:
        self.opened_by = os.getpid()
        self.reset_by: int | None = None
        reset_in_forked_child(self.forget)

    def forget(self) -> None:
        self.reset_by = os.getpid()


def _child_saw_the_reset(handles: Handles) -> None:
    os._exit(0 if handles.reset_by == os.getpid() != handles.opened_by else 1)


def test_a_forked_child_resets_before_it_runs_anything() -> None:
    """The method runs in the child (with the child's pid), never in the parent."""
    handles = Handles()
    process = multiprocessing.get_context("fork").Process(
        target=_child_saw_the_reset, args=(handles,))
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert handles.reset_by is None


def test_registering_does_not_keep_the_object_alive() -> None:
    """An object dropped after registering is collected: the fork handler holds it weakly."""
    handles = Handles()
    gone = weakref.ref(handles)
    del handles
    gc.collect()
    assert gone() is None
