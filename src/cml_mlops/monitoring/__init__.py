"""Monitoring: the prediction log (store), performance and drift checks, alerts and the dashboard."""
