"""Locations (warehouses, 3PLs, FBA per marketplace, in transit), their state accounts, and the lanes drawing on them."""
