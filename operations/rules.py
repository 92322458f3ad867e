"""The five alert rules: what each measures, its unit, its defaults and its bounds.

Plain data shared by the model (choices, validation), the evaluator and the dashboard.
"""

import math
from dataclasses import dataclass

SEVERITIES = ("warning", "critical")

# What an operator could mean. A percentage above 0 (at 0 the rule would always fire and
# could never resolve); a response time up to 10 minutes, far beyond any request gunicorn
# lets run; a hold time up to a day: a breach must show within a day to be worth an alert.
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
    def is_percentage(self):
        return self.unit == "%"


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


def validate_threshold(rule_name, threshold, duration_seconds, hysteresis, severity):
    """Every problem with one rule's settings, as {field: message}; empty when valid.

    Shared by the model (the admin form) and by the configuration reader, so a hand-edited
    hash can never feed the evaluator a value the admin would refuse. Each message names
    the setting, its allowed range and the value it got.
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
