"""Releases of a built package: the reproducible zip, checksums, changelog, chart, data
README, citation and licence."""
