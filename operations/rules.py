"""The five alert rules: what each measures, its unit, its defaults and its bounds, and
`RuleConfig`, a rule as configured, which decides its next state from a value.

Plain data shared by the model (choices, validation), the evaluator and the dashboard.
"""

import math
from dataclasses import dataclass

from operations.alert_types import AlertState, RuleState, Transition

SEVERITIES = ("warning", "critical")

# What an operator could mean: above 0 % (at 0 a rule could never resolve), up to 10 minutes
# of response time (beyond any request gunicorn lets run), a hold time of at most a day.
PERCENT_RANGE = (0.0, 100.0)  # above the first, up to the second
RESPONSE_TIME_MS_RANGE = (1.0, 600_000.0)
HOLD_SECONDS_RANGE = (1, 86_400)


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    unit: str  # "%" or "ms"
    threshold: float
    duration_seconds: int
    hysteresis: float
    severity: str
    # The plain field of `operations:configuration` that holds the live threshold.
    threshold_field: str

    @property
    def is_percentage(self) -> bool:
        return self.unit == "%"

    def format(self, value: float) -> str:
        """A value in the rule's unit, as alert messages show it: "92.0 %", "2100.0 ms"."""
        return f"{value:.1f} ms" if self.unit == "ms" else f"{value:.1f} %"

    def default_config(self) -> "RuleConfig":
        return RuleConfig(self.name, self.threshold, self.duration_seconds, self.hysteresis,
                          self.severity)  # fmt: skip


# fmt: off
RULES = {
    rule.name: rule
    for rule in (
        Rule("cpu_usage", "CPU usage", "%", 80.0, 60, 5.0, "warning", "cpu_threshold"),
        Rule("memory_usage", "Memory usage", "%", 85.0, 60, 5.0, "warning", "memory_threshold"),
        Rule("redis_memory", "Redis memory (of maxmemory)", "%", 90.0, 60, 5.0, "critical",
             "redis_threshold"),
        Rule("response_time", "Response time p95", "ms", 2000.0, 120, 200.0, "warning",
             "response_time_threshold"),
        Rule("error_rate", "Error rate (5xx)", "%", 5.0, 60, 1.0, "critical",
             "error_rate_threshold"),
    )
}
# fmt: on

RULE_CHOICES = [(rule.name, rule.label) for rule in RULES.values()]


def _number(value):
    """The value as given: 120, 9,223,372,036,854,775,807, 600000.5, 1e+300, nan."""
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return repr(value)
    if isinstance(value, float) and abs(value) >= 1e15:
        return repr(value)  # 1e+300, not 301 digits
    return f"{int(value):,}"


def validate_threshold(
    rule_name: str,
    threshold: float | None,
    duration_seconds: int | None,
    hysteresis: float | None,
    severity: str | None,
) -> dict[str, str]:
    """Every problem with one rule's settings, as {field: message}; empty when valid.

    The one check of the bounds: the model (the admin form), the publisher and the reader of
    the published copy call it, so a hand-edited hash can never feed the evaluator a value
    the admin would refuse. Each message names the setting, its range and the value it got.
    """
    errors = {}
    rule = RULES.get(rule_name)
    if rule is None:
        return {"rule": f"unknown rule {rule_name!r}"}
    if threshold is None:
        errors["threshold"] = "The threshold is required."
    elif rule.is_percentage:
        low, high = PERCENT_RANGE
        if not low < threshold <= high:  # also refuses nan
            errors["threshold"] = (
                f"The threshold of {rule.label} is a percentage: above {low:g} and at most "
                f"{high:g}; got {_number(threshold)}."
            )
    else:
        low, high = RESPONSE_TIME_MS_RANGE
        if not low <= threshold <= high:
            errors["threshold"] = (
                f"The threshold of {rule.label} must be from {low:,g} to {high:,g} ms "
                f"(10 minutes); got {_number(threshold)}."
            )
    low, high = HOLD_SECONDS_RANGE
    if duration_seconds is None or not low <= duration_seconds <= high:
        errors["duration_seconds"] = (
            f"The hold time must be from {low:,} to {high:,} seconds (one day)"
            + ("." if duration_seconds is None else f"; got {_number(duration_seconds)}.")
        )
    if hysteresis is None or not math.isfinite(hysteresis) or hysteresis < 0:
        errors["hysteresis"] = "The hysteresis margin cannot be negative" + (
            "." if hysteresis is None else f"; got {_number(hysteresis)}."
        )
    elif threshold is not None and "threshold" not in errors and hysteresis >= threshold:
        errors["hysteresis"] = (
            f"The hysteresis margin must be at least 0 and smaller than the threshold, "
            f"{_number(threshold)}; got {_number(hysteresis)}."
        )
    if severity not in SEVERITIES:
        errors["severity"] = f"The severity must be one of {', '.join(SEVERITIES)}."
    return errors


@dataclass(frozen=True)
class RuleConfig:
    """A rule as configured; `decide` is its state machine."""

    rule: str
    threshold: float
    duration_seconds: int
    hysteresis: float
    severity: str
    enabled: bool = True

    @property
    def resolve_below(self) -> float:
        return self.threshold - self.hysteresis

    def errors(self) -> dict[str, str]:
        return validate_threshold(self.rule, self.threshold, self.duration_seconds,
                                  self.hysteresis, self.severity)  # fmt: skip

    def decide(
        self, state: RuleState | None, value: float | None, now_ms: int
    ) -> tuple[RuleState, Transition | None]:
        """The next state from `value` (None: no data) and the transition, when it fires or
        resolves. A breach must hold `duration_seconds` before firing; a firing rule stays
        firing (no repeat) until the value drops below threshold minus hysteresis; no data
        cancels a pending breach but cannot prove a firing alert resolved."""
        new = self._next_state(state, value, now_ms)
        old = state.status if state else AlertState.OK
        if (old is AlertState.FIRING) == (new.status is AlertState.FIRING):
            return new, None
        return new, Transition(self.rule, old, new.status, now_ms, value)

    def _next_state(self, state, value, now_ms):
        status = state.status if state else AlertState.OK
        settled = RuleState(AlertState.OK, now_ms)
        if not self.enabled:
            return settled
        if status is AlertState.FIRING:
            return settled if value is not None and value < self.resolve_below else state
        if value is None or value < self.threshold:
            return state if state and status is AlertState.OK else settled
        if status is AlertState.PENDING:
            held_ms = now_ms - (state.since_ms if state.since_ms is not None else now_ms)
            if held_ms >= self.duration_seconds * 1000:
                return RuleState(AlertState.FIRING, now_ms)
            return state
        return RuleState(AlertState.PENDING, now_ms)  # a fresh breach, held 0 s so far


def default_config(rule_name: str) -> RuleConfig:
    return RULES[rule_name].default_config()
