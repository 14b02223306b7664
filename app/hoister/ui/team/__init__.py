"""The team database: where the store is, the setting that chooses it, what others change."""
