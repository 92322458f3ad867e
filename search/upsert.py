"""Writing movies: one movie's whole upsert runs inside Redis as a function (one command
per movie: the movie hash and its autocomplete entries), the rewrite of derived fields
that a reindex fills in, and the move of legacy suggestion hashes into movie hashes."""

import json
from collections.abc import Callable, Iterator, Sequence

import redis
from redis.client import Pipeline

from search.keys import (
    ADOPT_FUNCTION,
    AUTOCOMPLETE_KEY,
    UPSERT_FUNCTION,
    UPSERT_LIBRARY,
    legacy_suggestion_key,
    legacy_suggestion_key_pattern,
    movie_key,
    movie_key_pattern,
    upsert_version_function,
)
from search.ranking import autocomplete_strings, suggestion_score
from search.store import MOVIE_FIELDS, client

# Keys: the movie hash, its legacy suggestion hash, the FT.SUGADD dictionary. Args: now,
# payload, score, n, n autocomplete strings, then the movie's field/value pairs. The
# movie hash keeps its strings in `autocomplete` (indexed by neither index), so that a
# re-import can FT.SUGDEL the ones its new title no longer calls for.
UPSERT_VERSION = "6"  # bump when the function changes (it lists MOVIE_FIELDS)
_RECORD_FIELDS = ", ".join(f'"{f}"' for f in MOVIE_FIELDS if f not in ("created_at", "updated_at"))
UPSERT_SOURCE = f"""#!lua name={UPSERT_LIBRARY}
local FIELDS = {{{_RECORD_FIELDS}}}
local SEP = "\\31"

local function split(text)
  local items = {{}}
  if not text then return items end
  for item in string.gmatch(text, "([^" .. SEP .. "]+)") do items[item] = true end
  return items
end

local function upsert(keys, args)
  local movie, legacy, dictionary = keys[1], keys[2], keys[3]
  local now, payload, score, n = args[1], args[2], args[3], tonumber(args[4])
  local strings, wanted = {{}}, {{}}
  for i = 1, n do strings[i] = args[4 + i]; wanted[args[4 + i]] = true end
  local fields, pairs_ = {{}}, {{}}
  for i = 5 + n, #args, 2 do
    fields[args[i]] = args[i + 1]
    pairs_[#pairs_ + 1] = args[i]
    pairs_[#pairs_ + 1] = args[i + 1]
  end
  local stored = redis.call("HMGET", movie, "created_at", "autocomplete")
  local created, written = stored[1], stored[2]
  if created then
    local stale = {{}}
    for _, name in ipairs(FIELDS) do
      if fields[name] == nil then stale[#stale + 1] = name end
    end
    if #stale > 0 then redis.call("HDEL", movie, unpack(stale)) end
    if not written then  -- written before v6: its strings are in its suggestion hash
      written = redis.call("HGET", legacy, "autocomplete")
      redis.call("UNLINK", legacy)
    end
  end
  redis.call("HSET", movie, "created_at", created or now, "updated_at", now,
             "autocomplete", table.concat(strings, SEP), unpack(pairs_))
  for string in pairs(split(written)) do
    if not wanted[string] then redis.call("FT.SUGDEL", dictionary, string) end
  end
  for _, string in ipairs(strings) do
    -- Without INCR the score is set, not added: a re-import does not inflate it.
    redis.call("FT.SUGADD", dictionary, string, score, "PAYLOAD", payload)
  end
  if created then return 0 end
  return 1
end

local function adopt(keys)
  local movie, legacy = keys[1], keys[2]
  local strings = redis.call("HGET", legacy, "autocomplete")
  if strings and redis.call("EXISTS", movie) == 1 then
    redis.call("HSETNX", movie, "autocomplete", strings)  -- a newer upsert's strings win
  end
  return redis.call("UNLINK", legacy)
end

redis.register_function("{UPSERT_FUNCTION}", upsert)
redis.register_function("{ADOPT_FUNCTION}", adopt)
redis.register_function{{function_name = "{upsert_version_function(UPSERT_VERSION)}",
                         callback = function() return 1 end, flags = {{"no-writes"}}}}
"""


def ensure_upsert_function() -> None:
    """Load (or replace) the upsert function unless this version is loaded already."""
    r = client()
    try:
        r.fcall_ro(upsert_version_function(UPSERT_VERSION), 0)
    except redis.ResponseError:
        r.function_load(UPSERT_SOURCE, replace=True)


def queue_movie_upsert(pipe: Pipeline, record: dict, now: int) -> None:
    """Queue the upsert of one validated movie on `pipe`; its reply is 1 when the movie
    is new, 0 when it replaced an existing one."""
    movie_id = record["id"]
    strings = autocomplete_strings(record["title"], record.get("year"))
    # The payload carries the id and the full title, so suggestions need no second read.
    payload = json.dumps({"id": movie_id, "label": strings[0]}, ensure_ascii=False)
    args = [now, payload, suggestion_score(record.get("rating")), len(strings), *strings]
    for name, value in record.items():
        if value is not None and value != "":
            args += [name, value]
    pipe.fcall(
        UPSERT_FUNCTION, 3, movie_key(movie_id), legacy_suggestion_key(movie_id), AUTOCOMPLETE_KEY,
        *args,
    )  # fmt: skip


def refresh_derived_fields(
    derive: Callable[[dict], dict],
    sources: Sequence[str],
    derived: Sequence[str],
    batch: int = 1000,
) -> int:
    """Rewrite the `derived` fields of every movie hash that `derive` (a dict of the
    hash's `sources` -> {field: value or None}) computes differently, e.g. fields a newer
    release derives that movies imported before it lack. Returns how many changed."""
    r = client()
    changed = 0

    def flush(keys):
        nonlocal changed
        reads = r.pipeline(transaction=False)
        for key in keys:
            reads.hmget(key, *sources, *derived)
        writes = r.pipeline(transaction=False)
        for key, values in zip(keys, reads.execute(), strict=True):
            if values[0] is None:
                continue  # deleted meanwhile
            stored = dict(zip((*sources, *derived), values, strict=True))
            wanted = derive({name: stored[name] for name in sources})
            if all(wanted[name] == stored[name] for name in derived):
                continue
            changed += 1
            present = {name: value for name, value in wanted.items() if value is not None}
            if present:
                writes.hset(key, mapping=present)
            absent = [name for name, value in wanted.items() if value is None and stored[name]]
            if absent:
                writes.hdel(key, *absent)
        writes.execute()

    for keys in _key_batches(r, movie_key_pattern(), batch):
        flush(keys)
    return changed


def adopt_legacy_suggestions(batch: int = 1000) -> int:
    """Move the autocomplete strings of every `suggestion:<id>` hash (releases before
    upsert v6) into its movie hash, unless that has its own, and remove the suggestion
    hash. Returns how many were removed."""
    ensure_upsert_function()
    r = client()
    removed = 0
    for keys in _key_batches(r, legacy_suggestion_key_pattern(), batch):
        pipe = r.pipeline(transaction=False)
        for key in keys:
            movie_id = key.removeprefix(legacy_suggestion_key(""))
            pipe.fcall(ADOPT_FUNCTION, 2, movie_key(movie_id), key)
        removed += sum(pipe.execute())
    return removed


def _key_batches(r: redis.Redis, pattern: str, batch: int) -> Iterator[list[str]]:
    """The keys SCAN finds for `pattern`, `batch` at a time."""
    keys = []
    for key in r.scan_iter(match=pattern, count=batch):
        keys.append(key)
        if len(keys) >= batch:
            yield keys
            keys = []
    if keys:
        yield keys
