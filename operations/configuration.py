"""The thresholds' published copy, `operations:configuration`: its layout, its reading
(validated with the rules' bounds, so a hand edit never reaches the evaluator) and its
publishing from the source, the `AlertThreshold` rows.

The plain fields `cpu_threshold` … `error_rate_threshold` hold the thresholds; each rule's
other settings sit beside them as `rule:<rule>:<setting>`, which no plain field can collide
with; `updated_at` stamps the newest admin edit the copy was published from.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from config.redis_stores import confirm_replicated
from operations import alert_store
from operations.models import AlertThreshold
from operations.rules import RULES, RuleConfig, default_config

logger = logging.getLogger("operations.alerts")

UPDATED_AT_FIELD = "updated_at"
RULE_SETTINGS = ("hold_seconds", "hysteresis", "severity", "enabled")
# The layout before this one, `<rule>:<setting>`: still read, so an upgraded installation
# keeps its thresholds until the collector republishes the copy.
LEGACY_SETTINGS = {
    "threshold": "threshold",
    "hold_seconds": "duration_seconds",
    "hysteresis": "hysteresis",
    "severity": "severity",
    "enabled": "enabled",
}
# The routine reason to republish; any other problem is a hand edit or damage.
CONFIGURATION_EMPTY = "operations:configuration is empty"
LEGACY_LAYOUT = "legacy layout"


@dataclass(frozen=True)
class Configuration:
    """Every rule's settings as read (defaults where the copy is unusable), and why the copy
    must be republished ([] when it is current)."""

    rules: dict[str, RuleConfig]
    problems: list[str] = field(default_factory=list)
    updated_at: str | None = None
    published: bool = False  # False: nothing published yet, the rules are the defaults


def setting_field(rule_name: str, setting: str) -> str:
    return f"rule:{rule_name}:{setting}"


def _plain(number):
    """80.0 -> "80", 2.5 -> "2.5": the hash reads as the thresholds were typed."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)


def configuration_fields(configs: Iterable[RuleConfig], updated_at: str = "") -> dict[str, str]:
    """The hash's fields for a set of rule configurations."""
    fields = {UPDATED_AT_FIELD: updated_at}
    for config in configs:
        fields[RULES[config.rule].threshold_field] = _plain(config.threshold)
        fields[setting_field(config.rule, "hold_seconds")] = str(int(config.duration_seconds))
        fields[setting_field(config.rule, "hysteresis")] = _plain(config.hysteresis)
        fields[setting_field(config.rule, "severity")] = config.severity
        fields[setting_field(config.rule, "enabled")] = "1" if config.enabled else "0"
    return fields


def _raw_settings(fields, name):
    """One rule's raw values by setting, and whether they came from the legacy layout."""
    current = {"threshold": fields.get(RULES[name].threshold_field)}
    current.update({s: fields.get(setting_field(name, s)) for s in RULE_SETTINGS})
    if all(value is None for value in current.values()):
        legacy = {s: fields.get(f"{name}:{old}") for s, old in LEGACY_SETTINGS.items()}
        if any(value is not None for value in legacy.values()):
            return legacy, True
    return current, False


def _rule_config(name, raw):
    """A RuleConfig from raw hash values, or the reason they are unusable."""
    missing = [setting for setting, value in raw.items() if value is None]
    if missing:
        return None, f"{name}: missing {', '.join(missing)}"
    if raw["enabled"] not in ("0", "1"):
        return None, f"{name}: enabled must be 0 or 1, got {raw['enabled']!r}"
    try:
        threshold, hysteresis = float(raw["threshold"]), float(raw["hysteresis"])
        hold_seconds = int(raw["hold_seconds"])
    except ValueError as exc:
        return None, f"{name}: {exc}"
    config = RuleConfig(name, threshold, hold_seconds, hysteresis, raw["severity"],
                        enabled=raw["enabled"] == "1")  # fmt: skip
    errors = config.errors()
    if errors:
        return None, f"{name}: {' '.join(errors.values())}"
    return config, None


def parse_configuration(fields: dict[str, str]) -> Configuration:
    """The copy as the evaluator applies it. A rule missing or invalid (the hash is
    writable by anyone with Redis access) gets its defaults, so evaluation never runs on a
    value the admin would refuse; that, an unknown field and the legacy layout are problems."""
    if not fields:
        return Configuration({name: default_config(name) for name in RULES}, [CONFIGURATION_EMPTY])
    configs, problems = {}, []
    for name in RULES:
        raw, legacy = _raw_settings(fields, name)
        config, problem = _rule_config(name, raw)
        if legacy:
            problems.append(f"{name}: {LEGACY_LAYOUT}")
        if problem:
            problems.append(problem)
        configs[name] = config or default_config(name)
    known = set(configuration_fields(configs.values()))
    unknown = sorted(set(fields) - known)
    if unknown and not any(p.endswith(LEGACY_LAYOUT) for p in problems):
        problems.append(f"unknown fields: {', '.join(unknown)}")
    return Configuration(configs, problems, fields.get(UPDATED_AT_FIELD) or None, True)


def read_configuration() -> Configuration:
    return parse_configuration(alert_store.read_configuration())


def current_configuration() -> dict[str, RuleConfig]:
    """Every rule's settings, as the evaluator applies them."""
    return read_configuration().rules


def routine_problems(problems: list[str]) -> bool:
    """True when republishing is routine: a flushed store, an upgrade from the legacy layout."""
    return all(p == CONFIGURATION_EMPTY or p.endswith(LEGACY_LAYOUT) for p in problems)


def publish_thresholds() -> list[RuleConfig]:
    """Publish the source, the `AlertThreshold` rows, as the copy the evaluator reads."""
    rows = {row.rule: row for row in AlertThreshold.objects.all()}
    configs = []
    for name in RULES:
        config = rows[name].as_config() if name in rows else default_config(name)
        errors = config.errors()
        if errors:  # a row saved before its bounds existed, or edited around the admin
            logger.warning("alert threshold %s is out of bounds (%s): defaults", name,
                           " ".join(errors.values()))  # fmt: skip
            config = default_config(name)
        configs.append(config)
    newest = max((row.updated_at for row in rows.values()), default=None)
    alert_store.write_configuration(
        configuration_fields(configs, newest.isoformat() if newest else "")
    )
    # The model stays the source (republished every 10 minutes): an unconfirmed copy is
    # only said, as a failover could serve the previous thresholds until then.
    if not confirm_replicated("operations"):
        logger.warning("the published thresholds are not on the replicas yet")
    return configs
