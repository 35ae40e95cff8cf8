"""DuckDB over a built package: the views, the `.duckdb` file, and queries against it."""
