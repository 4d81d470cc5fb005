"""`bedfinder simulate`: a discrete-event simulation of a city's system of care, driven
through the real API of a running Bedfinder (docs/simulation.md)."""
