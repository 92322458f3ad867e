"""Every Redis key of the operations app, and every command on them.

Two stores (README "Stores"):
- `operations` (db 2): the alert configuration hash, the alert history list, the active
  alerts and each rule's evaluation state, the collector's bookkeeping;
- `metrics` (db 4): the `system_metrics:*` and `app_metrics:*` time series, their
  compactions, the per-minute latency t-digests and the Prometheus totals.

Compactions: in the bundled RedisTimeSeries 1.12 a TS.CREATERULE rule outside DB 0 is
silently deleted by the first duplicate or out-of-order sample written to its source
(tests/insights/test_timeseries_db_bug.py). Every series that receives those (the request
counters, the rewritten latency minutes) has its 5m/1h buckets written by the app in the
same pipeline as the raw sample; rules remain only on series with one writer and one
rising sample per pass (the collector's system figures and error rate).
"""

import json
from datetime import UTC, datetime

import redis

from config.redis_stores import STORES, get_redis
from telemetry.units import DAY_MS

# --- operations store (db 2) ---------------------------------------------------
CONFIGURATION_KEY = "operations:configuration"
ALERTS_KEY = "operations:alerts"
ACTIVE_ALERTS_KEY = "operations:alerts:active"
ALERT_STATE_KEY = "operations:alerts:state"
COLLECTOR_KEY = "operations:collector"

ALERTS_MAX = 1000  # history entries kept (LTRIM)
ALERTS_RETENTION_MS = 90 * DAY_MS  # older entries are dropped; so is the list 90 days idle


def configuration_key():
    return CONFIGURATION_KEY


def alerts_key():
    return ALERTS_KEY


def active_alerts_key():
    return ACTIVE_ALERTS_KEY


def alert_state_key():
    return ALERT_STATE_KEY


def collector_key():
    return COLLECTOR_KEY


def _ops():
    return get_redis("operations")


def record_collector_pass(now_ms, duration_ms, counters):
    _ops().hset(
        COLLECTOR_KEY,
        mapping={"last_pass_ms": now_ms, "last_duration_ms": round(duration_ms, 2), **counters},
    )


def collector_state():
    return _ops().hgetall(COLLECTOR_KEY)


# --- configuration (the thresholds the evaluator reads) ---------------------------


def write_configuration(fields):
    """Replace the whole hash atomically, so the evaluator never reads half an edit."""
    pipe = _ops().pipeline(transaction=True)
    pipe.delete(CONFIGURATION_KEY)
    pipe.hset(CONFIGURATION_KEY, mapping=fields)
    pipe.execute()


def read_configuration():
    return _ops().hgetall(CONFIGURATION_KEY)


# --- alerts -------------------------------------------------------------------------


def alert_states():
    return {rule: json.loads(raw) for rule, raw in _ops().hgetall(ALERT_STATE_KEY).items()}


def save_alert_state(rule, state, pipeline=None):
    target = pipeline if pipeline is not None else _ops()
    target.hset(ALERT_STATE_KEY, rule, json.dumps(state))


# The history list is newest first, so the entries past the retention are its tail: pop
# them while the oldest is older than the cutoff (an entry that does not parse goes too).
# One script, so a push, the cap and the trim are one step even inside MULTI.
_PUSH_AND_TRIM = """
if ARGV[1] ~= '' then redis.call('LPUSH', KEYS[1], ARGV[1]) end
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local cutoff = tonumber(ARGV[3])
local dropped = 0
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest then break end
  local ok, entry = pcall(cjson.decode, oldest)
  local at = ok and type(entry) == 'table'
    and tonumber(entry['recorded_ms'] or entry['timestamp_ms'])
  if at and at >= cutoff then break end
  redis.call('RPOP', KEYS[1])
  dropped = dropped + 1
end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return dropped
"""
_scripts = {}


def _push_and_trim(target, entry_json, now_ms):
    script = _scripts.get("push")
    if script is None:
        script = _scripts["push"] = _ops().register_script(_PUSH_AND_TRIM)
    args = [entry_json, ALERTS_MAX, int(now_ms) - ALERTS_RETENTION_MS, ALERTS_RETENTION_MS]
    return script(keys=[ALERTS_KEY], args=args, client=target)


def iso_utc(ms):
    """ISO-8601 in UTC, to the second: 2026-12-01T08:00:00+00:00."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _push_history(pipe, entry, now_ms):
    """An alert's transition as an entry of the history, stamped with when it was
    recorded (the retention counts from that); the oldest entries beyond 1000 or 90 days go."""
    entry = {**entry, "recorded_at": iso_utc(now_ms), "recorded_ms": int(now_ms)}
    _push_and_trim(pipe, json.dumps(entry), now_ms)


def trim_alert_history(now_ms):
    """Drop the entries older than the retention without pushing one (each collector pass:
    a quiet installation must not keep a year-old history); returns how many went."""
    return _push_and_trim(_ops(), "", now_ms)


def open_alert(alert, state, now_ms):
    """A new active alert, its history entry and the rule's state, atomically."""
    pipe = _ops().pipeline(transaction=True)
    pipe.hset(ACTIVE_ALERTS_KEY, alert["id"], json.dumps(alert))
    _push_history(pipe, alert, now_ms)
    save_alert_state(alert["type"], state, pipeline=pipe)
    pipe.execute()


def close_alert(alert, state, now_ms):
    pipe = _ops().pipeline(transaction=True)
    pipe.hdel(ACTIVE_ALERTS_KEY, alert["id"])
    _push_history(pipe, alert, now_ms)
    save_alert_state(alert["type"], state, pipeline=pipe)
    pipe.execute()


def active_alerts():
    alerts = [json.loads(raw) for raw in _ops().hvals(ACTIVE_ALERTS_KEY)]
    return sorted(alerts, key=lambda a: a["timestamp_ms"], reverse=True)


def get_active_alert(alert_id):
    raw = _ops().hget(ACTIVE_ALERTS_KEY, alert_id)
    return json.loads(raw) if raw else None


def alert_history(count=50):
    entries = []
    for raw in _ops().lrange(ALERTS_KEY, 0, count - 1):
        try:
            entries.append(json.loads(raw))
        except ValueError:  # written around the app: skipped, never a 500
            continue
    return [entry for entry in entries if isinstance(entry, dict)]


def acknowledge_alert(alert_id, update, now_ms):
    """Apply `update(alert) -> alert | None` to one active alert under WATCH, so an
    acknowledgement never resurrects an alert the collector resolved meanwhile."""
    result = {}

    def apply(pipe):
        raw = pipe.hget(ACTIVE_ALERTS_KEY, alert_id)
        if not raw:
            result["alert"] = None
            return
        alert = update(json.loads(raw))
        result["alert"] = alert
        if alert is None:
            return
        pipe.multi()
        pipe.hset(ACTIVE_ALERTS_KEY, alert_id, json.dumps(alert))
        _push_history(pipe, alert, now_ms)

    _ops().transaction(apply, ACTIVE_ALERTS_KEY)
    return result["alert"]


# --- Redis info for the dashboard ---------------------------------------------------


def redis_info():
    """The server's figures the dashboard shows (the server of the search store, which
    holds the catalogue; by default every store lives there). Its commands per second are
    the collector's measure (reports.redis_overview), not INFO's instantaneous figure: that
    is a sample of the last 1.6 s, mostly the dashboard's own polling."""
    client = get_redis("search")
    pipe = client.pipeline(transaction=False)
    for section in ("server", "memory", "clients", "stats", "persistence"):
        pipe.info(section)
    server, memory, clients, stats, persistence = pipe.execute()
    try:
        modules = sorted(f"{m['name']} {m['ver']}" for m in client.module_list())
    except redis.ResponseError:
        modules = []
    keys = {}
    for store in STORES:
        try:
            keys[store] = get_redis(store).dbsize()
        except redis.RedisError:
            keys[store] = None
    hits, misses = stats.get("keyspace_hits", 0), stats.get("keyspace_misses", 0)
    maxmemory = int(memory.get("maxmemory", 0))
    used = int(memory.get("used_memory", 0))
    return {
        "version": server.get("redis_version"),
        "mode": server.get("redis_mode"),
        "uptime_seconds": server.get("uptime_in_seconds"),
        "modules": modules,
        "memory": {
            "used_bytes": used,
            "used_human": memory.get("used_memory_human"),
            "peak_human": memory.get("used_memory_peak_human"),
            "maxmemory_bytes": maxmemory,
            "maxmemory_human": memory.get("maxmemory_human"),
            "used_percent": round(used / maxmemory * 100, 2) if maxmemory else None,
            "policy": memory.get("maxmemory_policy"),
            "fragmentation_ratio": memory.get("mem_fragmentation_ratio"),
        },
        "clients": {
            "connected": clients.get("connected_clients"),
            "blocked": clients.get("blocked_clients"),
        },
        "stats": {
            "keyspace_hits": hits,
            "keyspace_misses": misses,
            "hit_ratio_percent": round(hits / (hits + misses) * 100, 2) if hits + misses else None,
            "evicted_keys": stats.get("evicted_keys"),
            "expired_keys": stats.get("expired_keys"),
        },
        "keys_per_store": keys,
        "persistence": {
            "aof_enabled": bool(int(persistence.get("aof_enabled", 0))),
            "aof_last_write_status": persistence.get("aof_last_write_status"),
            "aof_last_bgrewrite_status": persistence.get("aof_last_bgrewrite_status"),
            "rdb_last_save_time": persistence.get("rdb_last_save_time"),
            "rdb_last_bgsave_status": persistence.get("rdb_last_bgsave_status"),
            "rdb_changes_since_last_save": persistence.get("rdb_changes_since_last_save"),
            "loading": bool(int(persistence.get("loading", 0))),
        },
    }


def redis_figures():
    """The collector's cheap subset of INFO: memory, clients, commands and keyspace counters."""
    pipe = get_redis("search").pipeline(transaction=False)
    pipe.info("memory")
    pipe.info("clients")
    pipe.info("stats")
    memory, clients, stats = pipe.execute()
    return {
        "used_memory": int(memory.get("used_memory", 0)),
        "maxmemory": int(memory.get("maxmemory", 0)),
        "connected_clients": int(clients.get("connected_clients", 0)),
        "total_commands_processed": int(stats.get("total_commands_processed", 0)),
        "keyspace_hits": int(stats.get("keyspace_hits", 0)),
        "keyspace_misses": int(stats.get("keyspace_misses", 0)),
    }
