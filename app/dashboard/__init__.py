"""The web dashboard of the App (docs/dashboard.md): what the service stores, per repository, shown to
the GitHub users who can read that repository."""
