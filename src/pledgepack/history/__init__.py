"""The git history walk: status events of every statement, from the commits that wrote
them, merged into the rows of `status_history`."""
