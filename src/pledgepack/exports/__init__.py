"""Other formats of a built package: a SQLite database with its datasette metadata, and a
spreadsheet workbook. Works from the package's files only, driven by its descriptor."""
