"""Balances: running daily aggregates per account and commodity, the trial balance, rebuild and verify."""
