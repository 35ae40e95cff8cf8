"""Other formats of a built package and other trackers' formats: a SQLite database with its
datasette metadata, a spreadsheet workbook, froide-govplan's import files. Works from the
package's files only, driven by its descriptor."""
