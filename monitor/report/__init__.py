"""Reports and exports for people and tools outside the review page: CTI sharing (MISP, STIX)."""
