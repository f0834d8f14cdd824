"""The images posts showed: fetching them after a crawl, analysing them in a worker, the copies that may be shown."""
