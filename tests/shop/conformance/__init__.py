"""The gateway conformance suite: the shop's behaviours that are not about one gateway's wire
format, written once and run against every gateway's real sandbox (drivers.py)."""
