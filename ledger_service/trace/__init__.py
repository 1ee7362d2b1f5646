"""The audit trace: any exported NetSuite line, or any balance, back to its entries, events and raw source rows."""
