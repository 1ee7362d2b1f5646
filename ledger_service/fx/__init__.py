"""Foreign currency: amounts posted at the rate of their date, realized FX when Amazon converts a settlement at
disbursement, unrealized FX when open balances are revalued at period end (see docs/fx.md).

- lookups.py: what ingest reads from the ledger for foreign amounts (rates, what clearing holds for a settlement);
- revaluation.py: pure: open foreign balances and period-end rates in, revaluation entries out;
- service.py: `revalue_period`, which reads the balances and rates and posts the revaluation and its reversal.
"""
