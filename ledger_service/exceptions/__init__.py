"""Exception queue: Amazon amounts whose type has no mapping, held in suspense until a reclass moves them."""
