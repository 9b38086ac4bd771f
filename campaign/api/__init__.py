"""The public JSON API, version 1."""
