"""Exchange rates as data: imported from files (a plain CSV, the ECB's euro reference rates), looked up by day."""
