"""The Redis store's reads by filter: which indexes a ``RecordFilter`` reads (status, task,
queue, and task-and-status / queue-and-status once the store has them), listing and counting
with the read-only ``QUERY`` script, and filing older stores' records in the paired indexes."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import redis

from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.redis_wire import texts

# Read-only. KEYS: ARGV[5] status indexes (any of them), then indexes a record must all be in.
# Walks the smallest source in the time range and checks membership in the others.
QUERY = """
local min, max, offset, limit, ng = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local group, every = {}, {}
for j = 1, #KEYS do
  if j <= ng then group[#group + 1] = KEYS[j] else every[#every + 1] = KEYS[j] end
end
local best, bestn = 0, math.huge
for j, key in ipairs(every) do
  local n = redis.call('ZCOUNT', key, min, max)
  if n < bestn then best, bestn = j, n end
end
local gn = 0
for _, key in ipairs(group) do gn = gn + redis.call('ZCOUNT', key, min, max) end
if ng > 0 and gn <= bestn then best = 0 end
local function member(id)
  for j, key in ipairs(every) do
    if j ~= best and not redis.call('ZSCORE', key, id) then return false end
  end
  if ng == 0 or best == 0 then return true end
  for _, key in ipairs(group) do
    if redis.call('ZSCORE', key, id) then return true end
  end
  return false
end
if best == 0 then
  if limit < 0 and #every == 0 then return gn end
  local found = {}
  for _, key in ipairs(group) do
    local part
    if #every == 0 and limit >= 0 then  -- no filtering: each index's first page is enough
      part = redis.call('ZREVRANGEBYSCORE', key, max, min, 'WITHSCORES', 'LIMIT', 0, offset + limit)
    else
      part = redis.call('ZREVRANGEBYSCORE', key, max, min, 'WITHSCORES')
    end
    for i = 1, #part, 2 do
      if member(part[i]) then found[#found + 1] = {part[i], tonumber(part[i + 1])} end
    end
  end
  if limit < 0 then return #found end
  table.sort(found, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1] > b[1]
  end)
  local page = {}
  for i = offset + 1, math.min(#found, offset + limit) do page[#page + 1] = found[i][1] end
  return page
end
local source, seen, page, at = every[best], 0, {}, 0
while true do
  local chunk = redis.call('ZREVRANGEBYSCORE', source, max, min, 'LIMIT', at, 500)
  for _, id in ipairs(chunk) do
    if member(id) then
      seen = seen + 1
      if limit >= 0 and seen > offset then
        page[#page + 1] = id
        if #page >= limit then return page end
      end
    end
  end
  if #chunk < 500 then break end
  at = at + 500
end
if limit < 0 then return seen end
return page
"""


class IndexedReads:
    """``list``, ``count`` and ``reindex`` of :class:`~taskbridge._stores.redis.RedisStore`."""

    client: redis.Redis
    _query: Any
    _indexed: bool
    key: Callable[..., str]
    _call: Callable[..., Any]
    get_many: Callable[[Sequence[str]], builtins.list[Record | None]]

    def _plan(self, filter: RecordFilter) -> tuple[list[str], list[str]] | None:
        """The status indexes (any of) and other indexes (all of) ``filter`` selects from."""
        statuses = filter.status
        if statuses is not None and not statuses:
            return None
        if not filter.include_retried and statuses is None:
            statuses = frozenset(Status)
        pair = self._pair(filter) if statuses else None
        if statuses and pair and (filter.include_retried or Status.FAILED not in statuses):
            group = [self.key("idx", *pair, s.value) for s in sorted(statuses)]
            by_queue = pair[0] == "ts" and filter.queue is not None
            return group, [self.key("idx", "queue", str(filter.queue))] if by_queue else []
        group = [
            # Only FAILED records can be retried, so the dead letters are FAILED minus retried.
            self.key("idx", "dead")
            if status is Status.FAILED and not filter.include_retried
            else self.key("idx", "status", status.value)
            for status in sorted(statuses or ())
        ]
        every = []
        if filter.task_name is not None:
            every.append(self.key("idx", "task", filter.task_name))
        if filter.queue is not None:
            every.append(self.key("idx", "queue", filter.queue))
        if not group and not every:
            every.append(self.key("idx", "all"))
        return group, every

    def _pair(self, filter: RecordFilter) -> tuple[str, str] | None:
        """The task-and-status (``ts``) or queue-and-status (``qs``) indexes ``filter`` can
        use, once the store has them for every record (``idx:version`` 2, see ``reindex``)."""
        if filter.task_name is None and filter.queue is None:
            return None
        if not self._indexed:
            self._indexed = self.client.get(self.key("idx", "version")) in (b"2", "2")
            if not self._indexed:
                return None
        return ("ts", filter.task_name) if filter.task_name is not None else (
            "qs", str(filter.queue))

    def reindex(self, chunk: int = 1000) -> int:
        """File every record in the task-and-status and queue-and-status indexes (a store
        written before they existed; ``purge`` does it once), then mark the store indexed.
        Returns how many records were looked at."""
        seen = 0
        for ids in _chunks(self.client.zscan_iter(self.key("idx", "all"), count=chunk), chunk):
            self._call("reindex", *ids)
            seen += len(ids)
        self.client.set(self.key("idx", "version"), "2")
        return seen

    @staticmethod
    def _range(filter: RecordFilter) -> tuple[str, str]:
        low = "-inf" if filter.since is None else repr(float(filter.since))
        high = "+inf" if filter.until is None else f"({float(filter.until)!r}"
        return low, high

    def list(self, filter: RecordFilter, *, limit: int = 100, offset: int = 0) -> list[Record]:
        plan = self._plan(filter)
        if plan is None or limit <= 0:
            return []
        group, every = plan
        low, high = self._range(filter)
        if len(group) + len(every) == 1:
            ids = self.client.zrevrangebyscore(
                (group + every)[0], high, low, start=offset, num=limit
            )
        else:
            ids = self._query(keys=group + every, args=[low, high, offset, limit, len(group)])
        return [r for r in self.get_many(texts(ids)) if r is not None]

    def count(self, filter: RecordFilter) -> int:
        plan = self._plan(filter)
        if plan is None:
            return 0
        group, every = plan
        low, high = self._range(filter)
        if len(group) + len(every) == 1:
            return int(self.client.zcount((group + every)[0], low, high))
        return int(self._query(keys=group + every, args=[low, high, 0, -1, len(group)]))


def _chunks(items: Any, size: int) -> Any:
    """Lists of ``size`` members of a ``zscan_iter`` (member, score) stream."""
    chunk: list[Any] = []
    for member, _score in items:
        chunk.append(member)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
