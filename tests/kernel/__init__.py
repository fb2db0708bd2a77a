"""Scenarios for a real FreeBSD kernel, also run on the model by tests/test_jail.py."""
