"""The shared foundation: tables, engine, migrations, immutability triggers."""
