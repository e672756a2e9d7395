"""The read queries the operations layer asks of a store, and a reference implementation of
them over ``StateStore.list`` and ``StateStore.count``.

A store answers these natively by implementing :class:`ExecutionQueries` (the methods below,
on the store object itself); :func:`queries_for` then uses them as they are. Every query is
shaped to be one indexed operation in a real store: a keyset range over
``(enqueued_at, id)`` for pages, ``COUNT ... GROUP BY status`` for counts, one
``GROUP BY floor((enqueued_at - start) / step)`` for series, a bounded range for durations.
The reference implementation here is correct on any store and costs a few indexed counts per
call, except where noted.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Protocol, runtime_checkable

import attrs

from taskbridge import Record, RecordFilter, StateStore, Status

_PAGE_CHUNK = 500


@attrs.frozen
class Cursor:
    """The last execution a page showed; the next page starts strictly after it."""

    enqueued_at: float
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.enqueued_at, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse :meth:`encode`'s output; ``ValueError`` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            enqueued_at, id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError(f"cursor {text!r} is not one this API returned") from exc
        if isinstance(enqueued_at, bool) or not isinstance(enqueued_at, int | float):
            raise ValueError(f"cursor {text!r} is not one this API returned")
        if not isinstance(id, str) or not math.isfinite(enqueued_at):
            raise ValueError(f"cursor {text!r} is not one this API returned")
        return cls(float(enqueued_at), id)

    @classmethod
    def after(cls, record: Record) -> Cursor:
        return cls(record.enqueued_at, record.id)


def newest_first(record: Record) -> tuple[float, str]:
    """The sort key of every listing: ``(enqueued_at, id)``, used descending."""
    return (record.enqueued_at, record.id)


def _before(record: Record, cursor: Cursor | None) -> bool:
    return cursor is None or newest_first(record) < (cursor.enqueued_at, cursor.id)


@runtime_checkable
class ExecutionQueries(Protocol):
    """What the dashboard reads. A store may implement all of it natively.

    ``filter`` is the public :class:`~taskbridge.RecordFilter`; its ``since``/``until`` bound
    ``enqueued_at``.
    """

    def page(self, filter: RecordFilter, *, limit: int, after: Cursor | None) -> list[Record]:
        """Up to ``limit`` records, ordered by ``(enqueued_at, id)`` descending, all strictly
        before ``after``: a keyset page, so records arriving meanwhile never shift it."""
        ...

    def count_by_status(self, filter: RecordFilter) -> dict[Status, int]:
        """How many records match, for every status (zeros included)."""
        ...

    def bucketed_counts(
        self, filter: RecordFilter, *, start: float, end: float, step: float
    ) -> list[int]:
        """Counts of matching records by ``enqueued_at`` in ``[start + k*step, start +
        (k+1)*step)`` for each k up to ``end``: ``ceil((end - start) / step)`` numbers."""
        ...

    def durations(self, filter: RecordFilter, *, limit: int) -> list[float]:
        """Seconds from start to finish of the newest ``limit`` matching records that ran to
        an end (SUCCEEDED or FAILED, with both times)."""
        ...

    def find_ids(self, prefix: str, *, limit: int) -> list[Record]:
        """Records whose id starts with ``prefix`` (an exact id first), newest first."""
        ...


class ReferenceQueries:
    """:class:`ExecutionQueries` over any ``StateStore``, by its ``list`` and ``count``.

    Correct on every store. Costs: ``page`` reads about ``limit`` records (more when many
    share one ``enqueued_at``); ``count_by_status`` six counts; ``bucketed_counts`` a count a
    bucket; ``durations`` one bounded listing; ``find_ids`` an exact lookup, then a scan of
    every record for a shorter prefix (stores with an id index should answer that natively).
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def _tied(self, filter: RecordFilter, enqueued_at: float) -> list[Record]:
        """Every matching record enqueued at exactly ``enqueued_at``, by id descending."""
        at = attrs.evolve(filter, since=enqueued_at, until=math.nextafter(enqueued_at, math.inf))
        found: list[Record] = []
        while True:
            chunk = self.store.list(at, limit=_PAGE_CHUNK, offset=len(found))
            found += chunk
            if len(chunk) < _PAGE_CHUNK:
                break
        return sorted(found, key=newest_first, reverse=True)

    def page(self, filter: RecordFilter, *, limit: int, after: Cursor | None) -> list[Record]:
        out: list[Record] = []
        if limit <= 0:
            return out
        until = filter.until
        if after is not None:
            # Records tied with the cursor's time come first, ordered by id.
            if (filter.until is None or after.enqueued_at < filter.until) and (
                filter.since is None or after.enqueued_at >= filter.since
            ):
                out += [r for r in self._tied(filter, after.enqueued_at) if _before(r, after)]
            until = after.enqueued_at if until is None else min(until, after.enqueued_at)
        rest = attrs.evolve(filter, until=until)
        offset, size = 0, min(limit + 1, _PAGE_CHUNK)
        while len(out) < limit:
            chunk = self.store.list(rest, limit=size, offset=offset)
            offset += len(chunk)
            out += chunk
            if len(chunk) < size:
                break
        out.sort(key=newest_first, reverse=True)
        if len(out) >= limit:
            # The store's order within one time is its own: settle the boundary time's
            # records by id, with all of them in hand.
            boundary = out[limit - 1].enqueued_at
            settled = [r for r in out if r.enqueued_at > boundary]
            tied = [r for r in self._tied(filter, boundary) if _before(r, after)]
            out = settled + tied
        return out[:limit]

    def count_by_status(self, filter: RecordFilter) -> dict[Status, int]:
        wanted = filter.status
        native = getattr(self.store, "count_by_status", None)  # one query, where a store can
        if native is not None:
            counts: dict[Status, int] = native(filter)
            return {s: counts.get(s, 0) if wanted is None or s in wanted else 0 for s in Status}
        return {
            status: (
                self.store.count(attrs.evolve(filter, status=status))
                if wanted is None or status in wanted else 0
            )
            for status in Status
        }

    def bucketed_counts(
        self, filter: RecordFilter, *, start: float, end: float, step: float
    ) -> list[int]:
        buckets = max(0, math.ceil((end - start) / step))
        counts = []
        for k in range(buckets):
            low, high = start + k * step, min(end, start + (k + 1) * step)
            if filter.since is not None:
                low = max(low, filter.since)
            if filter.until is not None:
                high = min(high, filter.until)
            counts.append(
                self.store.count(attrs.evolve(filter, since=low, until=high)) if low < high else 0
            )
        return counts

    def durations(self, filter: RecordFilter, *, limit: int) -> list[float]:
        ended = filter.status or frozenset({Status.SUCCEEDED, Status.FAILED})
        ran = attrs.evolve(filter, status=ended & {Status.SUCCEEDED, Status.FAILED})
        if not ran.status:
            return []
        return [
            r.finished_at - r.started_at
            for r in self.page(ran, limit=limit, after=None)
            if r.started_at is not None and r.finished_at is not None
        ]

    def find_ids(self, prefix: str, *, limit: int) -> list[Record]:
        exact = [r for r in self.store.get_many([prefix]) if r is not None]
        if exact or limit <= 1:
            return exact[:limit]
        found: list[Record] = []
        everything = RecordFilter()
        offset = 0
        while True:
            chunk = self.store.list(everything, limit=_PAGE_CHUNK, offset=offset)
            offset += len(chunk)
            found += [r for r in chunk if r.id.startswith(prefix)]
            if len(chunk) < _PAGE_CHUNK:
                break
        found.sort(key=newest_first, reverse=True)
        return found[:limit]


def queries_for(store: StateStore) -> ExecutionQueries:
    """The store itself when it answers these queries natively, else the reference."""
    if isinstance(store, ExecutionQueries):
        return store
    return ReferenceQueries(store)
