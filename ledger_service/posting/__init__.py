"""Posting rules: pure functions from canonical source records (and the mapping) to events and balanced entries."""
