"""The keys of the operations store (DB 2); every module that reaches them imports them here."""

CONFIGURATION_KEY = "operations:configuration"  # hash: the thresholds' published copy
ALERTS_KEY = "operations:alerts"  # list: the alert history, JSON entries, newest first
ACTIVE_ALERTS_KEY = "operations:alerts:active"  # hash: alert id -> JSON alert
ALERT_STATE_KEY = "operations:alerts:state"  # hash: rule -> JSON {status, since_ms, alert_id}
COLLECTOR_KEY = "operations:collector"  # hash: the collector's last pass
# string: the token of the collector evaluating the alert rules ("<host>:<uuid>"), with
# an expiry its holder renews every pass (operations.fleet.EvaluatorLease)
EVALUATOR_LOCK_KEY = "operations:evaluator"
