"""Pages that belong to no one domain: the root redirect, privacy, health, errors."""
