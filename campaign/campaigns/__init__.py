"""Campaigns: the statement, its demands and their translations."""
