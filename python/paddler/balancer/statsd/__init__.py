"""Gauges reported to a StatsD server."""
