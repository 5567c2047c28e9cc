"""Logging and tracing shared by the balancer and the agent."""
