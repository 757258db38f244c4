"""Simulated callers: realistic inbound calls into the lab, for a lab with no phone."""
