"""Staff accounts, roles, login and the staff area's deny-by-default rule."""
