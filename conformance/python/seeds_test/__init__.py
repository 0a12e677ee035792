"""The seeds' Python apps (apps/), loaded unchanged but for their placeholders, driven as a
browser would against a running oidc-forge issuer. Entry point: ../drive.py."""
