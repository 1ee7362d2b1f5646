"""ledger-service: Amazon FBA facts recorded once, posted as balanced double-entry journals.

The flow: sources -> event log -> posting rules -> journal -> projections -> faces.
"""

__version__ = "0.1.0"
