"""Every search key and every FT.* call (the search store, DB 0).

Keys owned here:
- `movie:<id>` hashes (prefix REDISEARCH_PREFIX), indexed by `movies_index`, an alias of
  a versioned index `movies_index_v<n>`;
- `suggestion:<id>` hashes, indexed by `movies_suggestions` (phonetic titles);
- `movies:autocomplete`, the FT.SUGADD dictionary;
- `search:generation`, the number that makes cached searches unreachable when it moves.
"""

import json
import re
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.commands.search.field import NumericField, TagField, TextField
from redis.commands.search.index_definition import IndexDefinition, IndexType

from config.redis_stores import get_redis

SUGGESTIONS_INDEX = "movies_suggestions"
SUGGESTION_PREFIX = "suggestion:"
AUTOCOMPLETE_KEY = "movies:autocomplete"
GENERATION_KEY = "search:generation"

TAG_SEPARATOR = "|"
# Fields a movie hash may hold; `title_key`, `director_key` and `cast_key` are derived
# (normalised whole titles and full names, for ranking a typed title or name first).
MOVIE_FIELDS = (
    "id", "title", "title_key", "year", "genre", "subgenre", "rating", "language",
    "country", "plot", "director", "director_key", "cast", "cast_key", "wikipedia_url",
    "created_at", "updated_at",
)  # fmt: skip
FACET_FIELDS = ("genre", "subgenre", "language", "country")
MULTI_VALUE_FIELDS = ("subgenre",)

# Synonym groups: single-word groups go to FT.SYNUPDATE; multi-word spellings
# ("science fiction") are expanded by the query builder (search/query.py).
SYNONYM_GROUPS = {
    "film": ["film", "movie", "picture", "flick"],
    "scifi": ["scifi", "sf"],
    "animation": ["animation", "animated", "cartoon"],
    "documentary": ["documentary", "doc", "docudrama"],
    "war": ["war", "wartime"],
    "kid": ["kid", "child", "children"],
    "detective": ["detective", "sleuth", "investigator"],
    "cop": ["cop", "police", "policeman"],
    "murder": ["murder", "killing", "homicide"],
    "spy": ["spy", "agent", "espionage"],
}


def index_alias():
    return settings.REDISEARCH_INDEX_NAME


def movie_prefix():
    return settings.REDISEARCH_PREFIX


def movie_key(movie_id):
    return f"{movie_prefix()}{movie_id}"


def suggestion_key(movie_id):
    return f"{SUGGESTION_PREFIX}{movie_id}"


def client():
    return get_redis("search")


# --- schema and index lifecycle ------------------------------------------------


def movie_schema():
    """The plan's schema plus what good search needs: weights (title, then director
    and cast, then plot), `|` tag separators, case kept for country and language names."""
    return (
        TextField("title", weight=5.0, sortable=True),
        TagField("title_key", separator=TAG_SEPARATOR),
        TagField("genre", separator=TAG_SEPARATOR, sortable=True),
        TagField("subgenre", separator=TAG_SEPARATOR, sortable=True),
        NumericField("year", sortable=True),
        NumericField("rating", sortable=True),
        TagField("language", separator=TAG_SEPARATOR, sortable=True, case_sensitive=True),
        TagField("country", separator=TAG_SEPARATOR, sortable=True, case_sensitive=True),
        TextField("plot", weight=1.0),
        TextField("director", weight=2.0),
        TagField("director_key", separator=TAG_SEPARATOR),
        TextField("cast", weight=2.0),
        TagField("cast_key", separator=TAG_SEPARATOR),
        NumericField("created_at", sortable=True),
        NumericField("updated_at", sortable=True),
    )


def suggestion_schema():
    return (
        TextField("title", phonetic_matcher="dm:en"),
        TagField("genre", separator=TAG_SEPARATOR),
        NumericField("year"),
    )


def index_versions():
    """The versioned indexes that exist, oldest first, as (version, name)."""
    pattern = re.compile(rf"^{re.escape(index_alias())}_v(\d+)$")
    versions = []
    for name in client().execute_command("FT._LIST"):
        match = pattern.match(name)
        if match:
            versions.append((int(match.group(1)), name))
    return sorted(versions)


def live_index_name():
    """The versioned index the alias points at, or None when there is no alias yet."""
    try:
        return client().ft(index_alias()).info()["index_name"]
    except redis.ResponseError:
        return None


def create_versioned_index(version):
    name = f"{index_alias()}_v{version}"
    client().ft(name).create_index(
        movie_schema(),
        definition=IndexDefinition(prefix=[movie_prefix()], index_type=IndexType.HASH),
        stopwords=[],  # STOPWORDS 0: titles like "It" and "Up" must stay findable
    )
    return name


def wait_until_indexed(name, timeout=3600.0, on_progress=None):
    deadline = time.monotonic() + timeout
    while True:
        info = client().ft(name).info()
        percent = float(info.get("percent_indexed", 1))
        if on_progress:
            on_progress(percent, int(info.get("num_docs", 0)))
        if str(info.get("indexing")) in ("0", "False", "false") and percent >= 1.0:
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {name} still indexing after {timeout:.0f} s")
        time.sleep(0.2)


def point_alias(name):
    """Point the alias at `name` (FT.ALIASADD the first time, FT.ALIASUPDATE after)."""
    if live_index_name() is None:
        client().ft(name).aliasadd(index_alias())
    else:
        client().ft(name).aliasupdate(index_alias())


def drop_index_keep_documents(name):
    client().ft(name).dropindex(delete_documents=False)


def apply_synonyms(index_name):
    ft = client().ft(index_name)
    for group, terms in SYNONYM_GROUPS.items():
        ft.synupdate(group, True, *terms)  # SKIPINITIALSCAN: applies to new writes too


def synonym_groups(index_name=None):
    return client().ft(index_name or index_alias()).syndump()


def ensure_suggestions_index():
    """Create `movies_suggestions` when missing; True when it was created."""
    try:
        client().ft(SUGGESTIONS_INDEX).info()
        return False
    except redis.ResponseError:
        client().ft(SUGGESTIONS_INDEX).create_index(
            suggestion_schema(),
            definition=IndexDefinition(prefix=[SUGGESTION_PREFIX], index_type=IndexType.HASH),
            stopwords=[],
        )
        return True


def index_info():
    info = client().ft(index_alias()).info()
    return {
        "index_name": info["index_name"],
        "num_docs": int(info["num_docs"]),
        "indexing": str(info.get("indexing")) not in ("0", "False", "false"),
        "percent_indexed": float(info.get("percent_indexed", 1)),
        "inverted_sz_mb": float(info.get("inverted_sz_mb", 0)),
        "total_index_memory_sz_mb": float(info.get("total_index_memory_sz_mb", 0) or 0),
        "doc_table_size_mb": float(info.get("doc_table_size_mb", 0)),
        "sortable_values_size_mb": float(info.get("sortable_values_size_mb", 0)),
        "key_table_size_mb": float(info.get("key_table_size_mb", 0)),
    }


def movie_count():
    """Documents in the live index; 0 when there is no index yet."""
    try:
        return int(client().ft(index_alias()).info()["num_docs"])
    except redis.ResponseError:
        return 0


# --- cache generation ------------------------------------------------------------


def generation():
    value = client().get(GENERATION_KEY)
    return int(value) if value else 0


def bump_generation():
    return client().incr(GENERATION_KEY)


# --- movies -----------------------------------------------------------------------


def get_movie(movie_id):
    data = client().hgetall(movie_key(movie_id))
    return data or None


def autocomplete_strings(title, year):
    """The FT.SUGADD entries of one movie: the title with its year, and the same without
    a leading article so "termin" finds "The Terminator (1984)"."""
    label = f"{title} ({year})" if year else title
    strings = [label]
    match = re.match(r"(?i)^(the|a|an)\s+(.+)$", title)
    if match:
        strings.append(f"{match.group(2)} ({year})" if year else match.group(2))
    return strings


UNRATED_SUGGESTION_RATING = 5.0


def suggestion_score(rating):
    """The autocomplete weight of a movie: better-rated films come first (a custom
    ranking, as in Algolia), an unrated one counts as middling. The spread matters for
    speed too: FT.SUGGET skips every branch of its trie whose best score cannot make the
    top results, so with equal scores a two-letter prefix walked all of its hundreds of
    thousands of completions (hundreds of ms at a million movies), and with these
    weights a small part of them."""
    rating = UNRATED_SUGGESTION_RATING if rating in (None, "") else float(rating)
    return round(2.0**rating, 3)


# One movie's whole upsert runs inside Redis as a function: one command per movie instead
# of a read round trip plus four or five writes, which made the client's command
# packing, not Redis, the import's bottleneck. Keys: the movie hash, its suggestion hash,
# the FT.SUGADD dictionary. Args: now, payload, score, n, n autocomplete strings, then the
# movie's field/value pairs. It keeps created_at, sets updated_at, removes fields the
# record no longer has, and swaps the autocomplete entries of an old title for the new.
UPSERT_LIBRARY = "movies"
UPSERT_FUNCTION = "movie_upsert"
UPSERT_VERSION = "4"  # the function lists MOVIE_FIELDS: bump when they change
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
  local movie, suggestion, dictionary = keys[1], keys[2], keys[3]
  local now, payload, score, n = args[1], args[2], args[3], tonumber(args[4])
  local strings, wanted = {{}}, {{}}
  for i = 1, n do strings[i] = args[4 + i]; wanted[args[4 + i]] = true end
  local fields, pairs_ = {{}}, {{}}
  for i = 5 + n, #args, 2 do
    fields[args[i]] = args[i + 1]
    pairs_[#pairs_ + 1] = args[i]
    pairs_[#pairs_ + 1] = args[i + 1]
  end
  local created = redis.call("HGET", movie, "created_at")
  if created then
    local stale = {{}}
    for _, name in ipairs(FIELDS) do
      if fields[name] == nil then stale[#stale + 1] = name end
    end
    if #stale > 0 then redis.call("HDEL", movie, unpack(stale)) end
  end
  redis.call("HSET", movie, "created_at", created or now, "updated_at", now, unpack(pairs_))
  local old = split(redis.call("HGET", suggestion, "autocomplete"))
  for string in pairs(old) do
    if not wanted[string] then redis.call("FT.SUGDEL", dictionary, string) end
  end
  redis.call("HDEL", suggestion, "genre", "year")
  local entry = {{"title", fields["title"], "movie_id", fields["id"],
                 "autocomplete", table.concat(strings, SEP)}}
  if fields["genre"] then entry[#entry + 1] = "genre"; entry[#entry + 1] = fields["genre"] end
  if fields["year"] then entry[#entry + 1] = "year"; entry[#entry + 1] = fields["year"] end
  redis.call("HSET", suggestion, unpack(entry))
  for _, string in ipairs(strings) do
    -- Without INCR the score is set, not added: a re-import does not inflate it.
    redis.call("FT.SUGADD", dictionary, string, score, "PAYLOAD", payload)
  end
  if created then return 0 end
  return 1
end

redis.register_function("{UPSERT_FUNCTION}", upsert)
redis.register_function{{function_name = "{UPSERT_FUNCTION}_v{UPSERT_VERSION}",
                         callback = function() return 1 end, flags = {{"no-writes"}}}}
"""


def ensure_upsert_function():
    """Load (or replace) the upsert function unless this version is loaded already."""
    r = client()
    try:
        r.fcall_ro(f"{UPSERT_FUNCTION}_v{UPSERT_VERSION}", 0)
    except redis.ResponseError:
        r.function_load(UPSERT_SOURCE, replace=True)


def queue_movie_upsert(pipe, record, now):
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
        UPSERT_FUNCTION, 3, movie_key(movie_id), suggestion_key(movie_id), AUTOCOMPLETE_KEY,
        *args,
    )  # fmt: skip


def delete_movies(ids, batch=1000):
    """Remove the given movies with their suggestion hashes and autocomplete entries
    (tests and benchmarks clean up after themselves with it)."""
    r = client()
    ids = list(ids)
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        titles = r.pipeline(transaction=False)
        for movie_id in chunk:
            titles.hmget(movie_key(movie_id), "title", "year")
        pipe = r.pipeline(transaction=False)
        for movie_id, (title, year) in zip(chunk, titles.execute(), strict=True):
            if title:
                for string in autocomplete_strings(title, year):
                    pipe.execute_command("FT.SUGDEL", AUTOCOMPLETE_KEY, string)
            pipe.unlink(movie_key(movie_id), suggestion_key(movie_id))
        pipe.execute()


def delete_all_movies(batch=1000):
    """Remove every movie, suggestion and autocomplete entry (tests and `--replace`)."""
    r = client()
    for pattern in (f"{movie_prefix()}*", f"{SUGGESTION_PREFIX}*"):
        keys = []
        for key in r.scan_iter(match=pattern, count=batch):
            keys.append(key)
            if len(keys) >= batch:
                r.unlink(*keys)
                keys = []
        if keys:
            r.unlink(*keys)
    r.delete(AUTOCOMPLETE_KEY)


def refresh_derived_fields(derive, sources, derived, batch=1000):
    """Rewrite the `derived` fields of every movie hash that `derive` (a dict of the
    hash's `sources` -> {field: value or None}) computes differently, e.g. fields a newer
    release derives that movies imported before it lack. Returns how many changed."""
    r = client()
    changed = 0
    keys = []

    def flush():
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
        keys.clear()

    for key in r.scan_iter(match=f"{movie_prefix()}*", count=batch):
        keys.append(key)
        if len(keys) >= batch:
            flush()
    if keys:
        flush()
    return changed


def movie_key_count():
    """Number of `movie:` keys, by SCAN (for checks that the index agrees with the data)."""
    return sum(1 for _ in client().scan_iter(match=f"{movie_prefix()}*", count=1000))


# --- queries ------------------------------------------------------------------------


def params_args(params):
    """`PARAMS n name value …` for a query's parameters (nothing when there are none)."""
    if not params:
        return []
    return ["PARAMS", len(params) * 2, *(item for pair in params.items() for item in pair)]


def tag_values(field, raw):
    """The values of one tag field as stored: a multi-valued tag holds "a|b"."""
    if not raw:
        return []
    return raw.split(TAG_SEPARATOR) if field in MULTI_VALUE_FIELDS else [raw]


def by_count(counts):
    """[(value, count)] from a {value: count} tally, most frequent first, then by value."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def ft_search(query, params, *, offset, limit, sort_by=None, sort_asc=True, return_fields=()):
    """One FT.SEARCH with DIALECT 2, an explicit scorer, and user text only in PARAMS."""
    args = [index_alias(), query]
    if return_fields:
        args += ["RETURN", len(return_fields), *return_fields]
    # TFIDF honours field weights (BM25STD in RediSearch 2.10 ignores them and ranked plot
    # mentions above title matches on this catalogue); set explicitly, as the default
    # changes in Redis 8.
    args += ["SCORER", "TFIDF"]
    if sort_by:
        args += ["SORTBY", sort_by, "ASC" if sort_asc else "DESC"]
    args += ["LIMIT", offset, limit]
    args += params_args(params)
    args += ["TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2]
    raw = client().execute_command("FT.SEARCH", *args)
    total = int(raw[0])
    docs = []
    for i in range(1, len(raw), 2):
        fields = raw[i + 1] or []
        doc = dict(zip(fields[::2], fields[1::2], strict=True))
        doc["key"] = raw[i]
        docs.append(doc)
    return total, docs


def ft_sorted(query, params, sort_keys, *, offset, limit, return_fields):
    """(total, docs) of one page of `query` ordered by several `sort_keys` ((field,
    ascending), …): FT.SEARCH sorts by one field only, so ties would fall back to
    document ids. An aggregation sorts by all of them and loads the fields of the page's
    rows only (LOAD after SORTBY)."""
    sortby = []
    for name, ascending in sort_keys:
        sortby += [f"@{name}", "ASC" if ascending else "DESC"]
    args = [index_alias(), query, "SORTBY", len(sortby), *sortby, "LIMIT", offset, limit]
    args += ["LOAD", len(return_fields) + 1, "@__key", *(f"@{name}" for name in return_fields)]
    args += params_args(params)
    args += ["TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2]
    raw = client().execute_command("FT.AGGREGATE", *args)
    docs = [
        {name: row[name] for name in return_fields if row.get(name) is not None}
        | {"key": row["key"]}
        for row in _loaded_rows(raw)
    ]
    return int(raw[0]), docs


def has_ratings():
    """True when some movie has a rating: an aggregation that stops at the first match."""
    raw = client().execute_command(
        "FT.AGGREGATE", index_alias(), "@rating:[-inf +inf]", "LIMIT", 0, 1,
        "TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2,
    )  # fmt: skip
    return len(raw) > 1


def ft_search_keys(query, params, *, limit):
    """(total, keys) of the first `limit` matches by relevance, without their fields."""
    args = [index_alias(), query, "NOCONTENT", "SCORER", "TFIDF", "LIMIT", 0, limit]
    args += params_args(params)
    args += ["TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2]
    raw = client().execute_command("FT.SEARCH", *args)
    return int(raw[0]), list(raw[1:])


def first_matches(query, params, *, limit, fields):
    """The first `limit` matches in index order, unranked, with `fields`: an aggregation
    that stops after `limit` rows, where a ranked search over a broad query (a genre)
    scores every match first (over half a second at a million movies)."""
    args = [index_alias(), query, "LIMIT", 0, limit,
            "LOAD", len(fields) + 1, "@__key", *(f"@{name}" for name in fields)]  # fmt: skip
    args += params_args(params)
    args += ["TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2]
    return _loaded_rows(client().execute_command("FT.AGGREGATE", *args))


def _loaded_rows(raw):
    """The rows of an FT.AGGREGATE reply that LOADed `@__key`, as dicts with "key"."""
    rows = []
    for row in raw[1:]:
        values = dict(zip(row[::2], row[1::2], strict=True))
        values["key"] = values.pop("__key")
        rows.append(values)
    return rows


def docs_by_keys(keys, fields):
    """The given movie hashes' `fields`, shaped like `ft_search` documents; a key
    deleted meanwhile is skipped."""
    pipe = client().pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, *fields)
    docs = []
    for key, values in zip(keys, pipe.execute(), strict=True):
        if any(value is not None for value in values):
            doc = {name: value for name, value in zip(fields, values, strict=True) if value}
            docs.append(doc | {"key": key})
    return docs


# RediSearch stops a query after TIMEOUT ms (500 by default) and, with the default
# ON_TIMEOUT RETURN, silently answers with partial results: a facet count over a large
# catalogue then comes back empty. Every query states its own limit instead.
QUERY_TIMEOUT_MS = 5000
UNLIMITED = 0  # for the cached whole-catalogue counts, computed once per half hour


def facet_aggregate_args(fields, query, params, sample=None, timeout_ms=QUERY_TIMEOUT_MS):
    """One FT.AGGREGATE grouping the matches of `query` by `fields`. Tags group straight
    from their sortable values (no document loads): a multi-valued tag groups by its whole
    "a|b" string, which `facet_counts` splits. With `sample`, only the first `sample`
    matches are grouped."""
    args = [index_alias(), query]
    if sample:
        args += ["LIMIT", 0, sample]
    args += ["GROUPBY", len(fields), *(f"@{field}" for field in fields),
             "REDUCE", "COUNT", 0, "AS", "count", "LIMIT", 0, MAX_FACET_GROUPS]  # fmt: skip
    args += params_args(params)
    args += ["TIMEOUT", timeout_ms, "DIALECT", 2]
    return args


MAX_FACET_GROUPS = 10_000  # MAXAGGREGATERESULTS


@dataclass
class FacetCount:
    rows: list  # [(value, count)], by count then value
    grouped: int  # documents grouped, those without the field included


def facet_counts(requests, sample=None, timeout_ms=QUERY_TIMEOUT_MS):
    """Count facet values: `requests` maps a facet field to (query, params); returns
    field -> FacetCount. Evaluating the query is the dear part, so with `sample` the
    facets that share one query are counted by one aggregation grouping them together
    (at most `sample` rows, within MAX_FACET_GROUPS); without it, each facet groups
    alone, as combinations over a whole catalogue could exceed that limit. The
    aggregations go in one pipeline."""
    shared = {}
    for field, (query, params) in requests.items():
        key = (query, tuple(sorted(params.items())))
        shared.setdefault(key, (query, params, []))[2].append(field)
    groups = []
    for query, params, fields in shared.values():
        if sample and sample <= MAX_FACET_GROUPS:
            groups.append((query, params, fields))
        else:
            groups.extend((query, params, [field]) for field in fields)
    pipe = client().pipeline(transaction=False)
    for query, params, fields in groups:
        pipe.execute_command(
            "FT.AGGREGATE", *facet_aggregate_args(fields, query, params, sample, timeout_ms)
        )
    counts = {}
    for (_, _, fields), raw in zip(groups, pipe.execute(), strict=True):
        totals = {field: {} for field in fields}
        grouped = 0
        for row in raw[1:]:
            values = dict(zip(row[::2], row[1::2], strict=True))
            count = int(values["count"])
            grouped += count
            # Documents without the field group under None: counted, but no value.
            for field in fields:
                for value in tag_values(field, values.get(field)):
                    totals[field][value] = totals[field].get(value, 0) + count
        for field in fields:
            counts[field] = FacetCount(rows=by_count(totals[field]), grouped=grouped)
    return {field: counts[field] for field in requests}


def count_matches(queries):
    """Number of matches of each (query, params), pipelined."""
    pipe = client().pipeline(transaction=False)
    for query, params in queries:
        args = [index_alias(), query, "LIMIT", 0, 0, *params_args(params)]
        pipe.execute_command("FT.SEARCH", *args, "TIMEOUT", QUERY_TIMEOUT_MS, "DIALECT", 2)
    return [int(raw[0]) for raw in pipe.execute()]


def movie_years():
    """Every year that has movies, ascending: one grouping over the whole catalogue (as
    cheap as its MIN and MAX: 2.4 ms against 2.9 ms for the bundled catalogue)."""
    raw = client().execute_command(
        "FT.AGGREGATE", index_alias(), "*", "GROUPBY", 1, "@year",
        "REDUCE", "COUNT", 0, "AS", "count", "LIMIT", 0, MAX_FACET_GROUPS,
        "TIMEOUT", UNLIMITED, "DIALECT", 2,
    )  # fmt: skip
    years = set()
    for row in raw[1:]:
        value = dict(zip(row[::2], row[1::2], strict=True)).get("year")
        if value not in (None, ""):  # movies without a year group under null
            years.add(int(float(value)))
    return sorted(years)


def spellcheck(terms, distance=2):
    """FT.SPELLCHECK suggestions per term: {term: [(suggestion, score)]}."""
    if not terms:
        return {}
    raw = client().execute_command(
        "FT.SPELLCHECK", index_alias(), " ".join(terms), "DISTANCE", distance, "DIALECT", 2
    )
    found = {}
    for entry in raw:
        if len(entry) >= 3 and entry[0] == "TERM":
            found[entry[1]] = [(s, float(score)) for score, s in entry[2]]
    return found


# FT.SUGGET refuses a prefix of 100 characters or more ("Invalid query") and one of 200
# UTF-8 bytes or more ("Invalid query length"; measured on RediSearch 2.10).
SUGGET_MAX_CHARS = 99
SUGGET_MAX_BYTES = 199


def autocomplete_prefix(text):
    """The longest start of `text` that FT.SUGGET accepts."""
    prefix = text[:SUGGET_MAX_CHARS]
    while len(prefix.encode()) > SUGGET_MAX_BYTES:
        prefix = prefix[:-1]
    return prefix


def autocomplete(prefix, limit=5, fuzzy=True):
    """FT.SUGGET: [(matched string, {"id", "label"})]. A prefix longer than FT.SUGGET
    takes is looked up by its start (`autocomplete_prefix`): the caller checks the rest."""
    args = ["FT.SUGGET", AUTOCOMPLETE_KEY, autocomplete_prefix(prefix), "MAX", limit,
            "WITHPAYLOADS"]  # fmt: skip
    if fuzzy:
        args.insert(3, "FUZZY")
    raw = client().execute_command(*args)
    found = []
    for i in range(0, len(raw or []), 2):
        try:
            payload = json.loads(raw[i + 1] or "")
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("id"):
            found.append((raw[i], {"id": str(payload["id"]), "label": payload.get("label")}))
    return found


def phonetic_suggestions(query, limit=5):
    """Titles that sound like the words of `query` (the `movies_suggestions` index);
    `query` must already be a safe RediSearch expression built by search/query.py."""
    raw = client().execute_command(
        "FT.SEARCH", SUGGESTIONS_INDEX, query, "RETURN", 3, "title", "year", "movie_id",
        "LIMIT", 0, limit, "DIALECT", 2,
    )  # fmt: skip
    results = []
    for i in range(1, len(raw), 2):
        fields = raw[i + 1] or []
        results.append(dict(zip(fields[::2], fields[1::2], strict=True)))
    return results


def movies_by_ids(ids, fields=("title", "year")):
    pipe = client().pipeline(transaction=False)
    for movie_id in ids:
        pipe.hmget(movie_key(movie_id), *fields)
    return [
        dict(zip(fields, values, strict=True)) | {"id": str(movie_id)}
        for movie_id, values in zip(ids, pipe.execute(), strict=True)
    ]


def memory_usage():
    info = client().info("memory")
    return {"used_memory": int(info["used_memory"]), "maxmemory": int(info["maxmemory"])}
