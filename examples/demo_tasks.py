"""Tasks for the demo: what a web app typically offloads."""

from __future__ import annotations

from taskbridge import RetryPolicy, TaskContext, task


@task(name="demo.add")
def add(a: int, b: int) -> int:
    """The smallest possible task."""
    return a + b


@task(name="demo.flaky_api_call", context=True,
      retry=RetryPolicy(max_attempts=3, backoff=0.5, factor=2.0))
def flaky_api_call(context: TaskContext, endpoint: str) -> dict[str, object]:
    """Fails on its first two attempts, like a flaky external API, then succeeds."""
    if context.attempt < 3:
        raise ConnectionError(f"{endpoint} timed out (attempt {context.attempt})")
    return {"endpoint": endpoint, "attempt": context.attempt}


@task(name="demo.send_welcome_email")
def send_welcome_email(user_id: int) -> str:
    """Sent once per user, however often the signup handler enqueues it."""
    return f"welcome email sent to user {user_id}"


@task(name="demo.build_report", context=True)
def build_report(context: TaskContext, kind: str) -> dict[str, object]:
    """A slow job that reports progress."""
    for step, part in enumerate(["load", "aggregate", "render"], start=1):
        context.set_progress(round(step * 100 / 3), f"{part} done")
    return {"kind": kind, "pages": 3}
