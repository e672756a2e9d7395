"""Tasks the adapter's tests enqueue; imported by autodiscovery in every process."""

from __future__ import annotations

from taskbridge import TaskContext, task


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def fail(message: str) -> None:
    raise ValueError(message)


@task(context=True)
def report(context: TaskContext, steps: int) -> int:
    for step in range(steps):
        context.set_progress(100 * (step + 1) / steps, f"step {step + 1} of {steps}")
    return steps


@task
def tick(timestamp: int, label: str = "") -> str:
    return f"{label}:{timestamp}"


@task
def note(path: str, token: str) -> str:
    """Append ``token`` to the file at ``path``: how tests count the runs of a task."""
    with open(path, "a") as file:
        file.write(token + "\n")
    return token


@task
def fails_once(marker: str) -> str:
    """Fails while the file ``marker`` does not exist, creating it: a retry then succeeds."""
    import os

    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first attempt fails on purpose")
    return "fixed"
