"""Partner organisations: co-signers of a campaign, their supporters' consents, their logins."""
