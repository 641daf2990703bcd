"""Safe runs: write-audit-publish over versioned tables, the run ledger, retention and restore."""
