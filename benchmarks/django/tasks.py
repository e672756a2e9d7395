"""The task names the benchmark's rows carry, registered so the admin's task filter lists them."""

from taskbridge import task


@task(name="reports.build")
def build(n: int) -> int:
    return n


@task(name="emails.send")
def send(n: int) -> int:
    return n


@task(name="sync.pull", queue="sync")
def pull(n: int) -> int:
    return n
