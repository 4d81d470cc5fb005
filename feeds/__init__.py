"""Adapters that bring availability and directory data in and out (HSDS, FHIR, EDXL-HAVE, CSV)."""
