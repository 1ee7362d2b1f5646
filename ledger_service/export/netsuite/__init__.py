"""The NetSuite journal export: a closed period's posted entries, through a NetSuite mapping, as Journal Entry CSV
import rows or SuiteTalk REST `journalEntry` upserts.

- mapping.py: the NetSuite mapping (TOML, validated on load): our accounts and dimension values -> NetSuite
  accounts, subsidiary, department, class, location, name and custom segments;
- journals.py: pure: postings -> balanced journals (summarised per settlement, day or period), their external
  ids, and the corrections (reversal + replacement) a re-export after a change carries;
- render.py: journals -> the CSV and JSON files, byte for byte deterministic;
- service.py: the database side: what a period holds, its export events, recording an export.

docs/netsuite.md explains the choices (functional currency, rounding, external ids, corrections).
"""
