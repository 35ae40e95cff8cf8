"""Other formats and other trackers' formats, written from a built package's files only."""
