"""Demo data: a small, deterministic set of journals so that a first run has something to show."""
