"""Event log: every source fact once, append-only, idempotent, hash-chained per subsidiary."""
