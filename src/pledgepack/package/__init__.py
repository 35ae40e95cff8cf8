"""From the model to files: Arrow tables, CSV and Parquet, and `datapackage.json`."""
