"""The outbox: every e-mail is a row first, delivered after the request commits."""
