"""Bedfinder's domain: programs, units, live availability and its rules, and their stores.

Nothing here imports web code; adapters in `feeds/` and `web/` call in.
"""
