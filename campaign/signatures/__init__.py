"""Signatures: signing, confirming and counting."""
