"""Checking a built package from its files: frictionless, DuckDB SQL, CSV against Parquet."""
