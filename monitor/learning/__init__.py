"""The learned model's life: training it from labelled files and the team's decisions, keeping its
versions beside the database, choosing the current one, and building the detector that uses it."""
