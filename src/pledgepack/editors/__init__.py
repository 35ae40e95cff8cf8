"""Tools for the people who keep the content: lint, sync and import."""
