"""CML job `monitor` (cml/jobs.yaml, on its own schedule): the checks on the captured prediction log against the
served versions' reference profiles, then the dashboard (reports/monitoring/).

Exit codes are `cml-mlops monitor`'s: 0 ok, 1 a check alerts, 3 misconfigured (a served version has no reference
profile, or the store or config is wrong), 4 no data yet.
"""

from cml_mlops.monitoring.job import run_monitor_job

raise SystemExit(run_monitor_job())
