"""The five alert rules: what each measures, its unit and its defaults.

Plain data shared by the model (choices, validation), the evaluator and the dashboard.
"""

from dataclasses import dataclass

SEVERITIES = ("warning", "critical")


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    unit: str  # "%" or "ms"
    threshold: float
    duration_seconds: int
    hysteresis: float
    severity: str

    @property
    def is_percentage(self):
        return self.unit == "%"


RULES = {
    rule.name: rule
    for rule in (
        Rule("cpu_usage", "CPU usage", "%", 80.0, 60, 5.0, "warning"),
        Rule("memory_usage", "Memory usage", "%", 85.0, 60, 5.0, "warning"),
        Rule("redis_memory", "Redis memory (of maxmemory)", "%", 90.0, 60, 5.0, "critical"),
        Rule("response_time", "Response time p95", "ms", 2000.0, 120, 200.0, "warning"),
        Rule("error_rate", "Error rate (5xx)", "%", 5.0, 60, 1.0, "critical"),
    )
}

RULE_CHOICES = [(rule.name, rule.label) for rule in RULES.values()]


def validate_threshold(rule_name, threshold, duration_seconds, hysteresis, severity):
    """Every problem with one rule's settings, as {field: message}; empty when valid.

    Shared by the admin form and by the configuration reader, so a hand-edited hash
    can never feed the evaluator a value the admin would refuse.
    """
    errors = {}
    rule = RULES.get(rule_name)
    if rule is None:
        return {"rule": f"unknown rule {rule_name!r}"}
    if threshold is None:
        errors["threshold"] = "required"
    elif rule.is_percentage and not 0 <= threshold <= 100:
        errors["threshold"] = "a percentage must be between 0 and 100"
    elif not rule.is_percentage and threshold <= 0:
        errors["threshold"] = "a duration in milliseconds must be positive"
    if duration_seconds is None or duration_seconds <= 0:
        errors["duration_seconds"] = "the hold time must be a positive number of seconds"
    if hysteresis is None or hysteresis < 0:
        errors["hysteresis"] = "the hysteresis margin cannot be negative"
    elif threshold is not None and "threshold" not in errors and hysteresis >= threshold:
        errors["hysteresis"] = "the hysteresis margin must be smaller than the threshold"
    if severity not in SEVERITIES:
        errors["severity"] = f"severity must be one of {', '.join(SEVERITIES)}"
    return errors
