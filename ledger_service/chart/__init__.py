"""Chart: subsidiaries, hierarchical accounts and commodities, loaded from accounts/ as data."""
