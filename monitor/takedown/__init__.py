"""Takedowns: batches of confirmed posts per platform, the letters, the platform registry (data/), and re-checks."""
