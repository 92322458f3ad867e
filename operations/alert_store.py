"""Redis I/O of the operations store (DB 2): alerts, rule states, history, the thresholds'
published copy and the collector's bookkeeping. No policy here: the values come typed
from `alert_types` and `history`, the keys from `keys`."""

from collections.abc import Callable
from dataclasses import dataclass

import redis

from config.redis_stores import get_redis
from operations.alert_types import Alert, RuleState
from operations.history import (
    ALERTS_MAX,
    ALERTS_RETENTION_MS,
    HistoryEntry,
    parse_history,
    retention_cutoff_ms,
)
from operations.keys import (
    ACTIVE_ALERTS_KEY,
    ALERT_STATE_KEY,
    ALERTS_KEY,
    COLLECTOR_KEY,
    CONFIGURATION_KEY,
)


def client() -> redis.Redis:
    return get_redis("operations")


# --- the thresholds' published copy ------------------------------------------------


def write_configuration(fields: dict[str, str]) -> None:
    """Replace the whole hash atomically, so the evaluator never reads half an edit."""
    pipe = client().pipeline(transaction=True)
    pipe.delete(CONFIGURATION_KEY)
    pipe.hset(CONFIGURATION_KEY, mapping=fields)
    pipe.execute()


def read_configuration() -> dict[str, str]:
    return client().hgetall(CONFIGURATION_KEY)


# --- rule states ---------------------------------------------------------------------


def alert_states() -> dict[str, RuleState]:
    """Every rule's stored state; a state that does not parse is left out (starts afresh)."""
    states = {
        rule: RuleState.from_json(raw) for rule, raw in client().hgetall(ALERT_STATE_KEY).items()
    }
    return {rule: state for rule, state in states.items() if state is not None}


def save_alert_state(
    rule: str, state: RuleState, pipeline: redis.client.Pipeline | None = None
) -> None:
    target = pipeline if pipeline is not None else client()
    target.hset(ALERT_STATE_KEY, rule, state.to_json())


# --- alerts and their history ----------------------------------------------------------

# Newest first, so the entries past the retention are the tail: pop them while the oldest
# is older than the cutoff (one that does not parse goes too). A script, so push, cap and
# trim are one step even inside MULTI.
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
        script = _scripts["push"] = client().register_script(_PUSH_AND_TRIM)
    args = [entry_json, ALERTS_MAX, retention_cutoff_ms(now_ms), ALERTS_RETENTION_MS]
    return script(keys=[ALERTS_KEY], args=args, client=target)


def _push_history(pipe, alert, now_ms):
    _push_and_trim(pipe, HistoryEntry.recorded(alert, now_ms).to_json(), now_ms)


def trim_alert_history(now_ms: int) -> int:
    """Drop the entries past the retention without pushing one (each collector pass: a
    quiet installation must not keep a year-old history); returns how many went."""
    return _push_and_trim(client(), "", now_ms)


def open_alert(alert: Alert, state: RuleState, now_ms: int) -> None:
    """A new active alert, its history entry and the rule's state, atomically."""
    pipe = client().pipeline(transaction=True)
    pipe.hset(ACTIVE_ALERTS_KEY, alert.id, alert.to_json())
    _push_history(pipe, alert, now_ms)
    save_alert_state(alert.type, state, pipeline=pipe)
    pipe.execute()


def close_alert(alert: Alert, state: RuleState, now_ms: int) -> None:
    pipe = client().pipeline(transaction=True)
    pipe.hdel(ACTIVE_ALERTS_KEY, alert.id)
    _push_history(pipe, alert, now_ms)
    save_alert_state(alert.type, state, pipeline=pipe)
    pipe.execute()


def active_alerts() -> list[Alert]:
    """Newest first."""
    alerts = [Alert.from_json(raw) for raw in client().hvals(ACTIVE_ALERTS_KEY)]
    return sorted(alerts, key=lambda a: a.timestamp_ms or 0, reverse=True)


def get_active_alert(alert_id: str) -> Alert | None:
    raw = client().hget(ACTIVE_ALERTS_KEY, alert_id)
    return Alert.from_json(raw) if raw else None


def alert_history(count: int = 50) -> list[HistoryEntry]:
    return parse_history(client().lrange(ALERTS_KEY, 0, count - 1))


def acknowledge_alert(
    alert_id: str, update: Callable[[Alert], Alert | None], now_ms: int
) -> Alert | None:
    """Apply `update(alert) -> Alert | None` to one active alert under WATCH, so an
    acknowledgement never resurrects an alert the collector resolved meanwhile."""
    result = {}

    def apply(pipe):
        raw = pipe.hget(ACTIVE_ALERTS_KEY, alert_id)
        alert = update(Alert.from_json(raw)) if raw else None
        result["alert"] = alert
        if alert is None:
            return
        pipe.multi()
        pipe.hset(ACTIVE_ALERTS_KEY, alert_id, alert.to_json())
        _push_history(pipe, alert, now_ms)

    client().transaction(apply, ACTIVE_ALERTS_KEY)
    return result["alert"]


# --- the collector's bookkeeping ----------------------------------------------------------


def record_collector_pass(now_ms: int, duration_ms: float, transitions: int) -> None:
    client().hset(
        COLLECTOR_KEY,
        mapping={"last_pass_ms": now_ms, "last_duration_ms": round(duration_ms, 2),
                 "transitions": transitions},
    )  # fmt: skip


@dataclass(frozen=True)
class CollectorPass:
    """The collector's last pass; None before the first."""

    last_pass_ms: int | None
    last_duration_ms: float | None


def collector_state() -> CollectorPass:
    raw = client().hgetall(COLLECTOR_KEY)
    return CollectorPass(
        int(raw["last_pass_ms"]) if raw.get("last_pass_ms") else None,
        float(raw["last_duration_ms"]) if raw.get("last_duration_ms") else None,
    )
