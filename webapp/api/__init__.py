"""The JSON API (`/api/v1/`) and personal access tokens (account page)."""
