"""Ingest: read Amazon documents, post them through the posting rules, atomically per file, idempotently."""
