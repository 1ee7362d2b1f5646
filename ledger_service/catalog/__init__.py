"""The catalog: the brand's items, their Amazon identities per marketplace (effective-dated), bundles, the audit."""
