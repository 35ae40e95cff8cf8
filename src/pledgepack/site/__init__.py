"""The static site: pages, feeds and a search index rendered from a built package only."""
