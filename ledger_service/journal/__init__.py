"""Journal: balanced double-entry entries and their postings, written with their event in one transaction."""
