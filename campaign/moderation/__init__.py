"""Moderation and the audit trail."""
