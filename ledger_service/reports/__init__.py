"""Reports derived from the journal: gross to net, and (later) the month-end pack."""
