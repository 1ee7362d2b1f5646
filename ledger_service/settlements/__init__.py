"""Settlements: per settlement, the report's total, the sum of its rows, clearing and the deposit, reconciled."""
