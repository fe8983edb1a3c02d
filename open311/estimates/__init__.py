"""Expected time to resolve: learned from the closed history, with a range and its basis."""
