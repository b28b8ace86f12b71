"""Identities, passwords, access tokens and the rules for failed log-ins."""
