"""Partners' API keys."""
