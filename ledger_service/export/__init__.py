"""Exports of the journal to other tools: beancount (render in beancount.py, the query in service.py)."""
