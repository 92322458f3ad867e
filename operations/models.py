"""Alert thresholds, edited in the Django admin: the source of truth, published to
`operations:configuration` (operations/configuration.py) on every save."""

from django.core.exceptions import ValidationError
from django.db import models

from operations.rules import RULE_CHOICES, RULES, SEVERITIES, RuleConfig, validate_threshold


class AlertThreshold(models.Model):
    rule = models.CharField(max_length=32, choices=RULE_CHOICES, unique=True)
    threshold = models.FloatField(
        help_text="Fires at or above this value: a percentage (above 0, at most 100), or "
        "milliseconds (1 to 600,000) for the response time (p95)."
    )
    duration_seconds = models.PositiveIntegerField(
        "hold for (seconds)",
        default=60,
        help_text="The condition must hold this long before the alert fires: 1 to 86,400 "
        "seconds (one day).",
    )
    hysteresis = models.FloatField(
        default=5.0,
        help_text="An active alert resolves once the value is below threshold minus this: "
        "at least 0 and smaller than the threshold.",
    )
    severity = models.CharField(
        max_length=16, choices=[(s, s.title()) for s in SEVERITIES], default="warning"
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule"]
        verbose_name = "alert threshold"

    def __str__(self):
        rule = RULES.get(self.rule)
        label = rule.label if rule else self.rule
        unit = rule.unit if rule else ""
        return f"{label}: {self.threshold:g} {unit}".strip()

    @property
    def unit(self):
        rule = RULES.get(self.rule)
        return rule.unit if rule else ""

    def clean(self):
        errors = validate_threshold(
            self.rule, self.threshold, self.duration_seconds, self.hysteresis, self.severity
        )
        if errors:
            raise ValidationError(errors)

    def as_config(self) -> RuleConfig:
        return RuleConfig(self.rule, self.threshold, self.duration_seconds, self.hysteresis,
                          self.severity, self.enabled)  # fmt: skip
