"""What a database superuser can do behind the ledger's back, for the tamper tests: switch the guard triggers off
(drop them on SQLite, disable them on PostgreSQL), change rows, and recompute the chain with the project's own,
public hash function."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import Connection, select, text

from ledger_service.balances.integrity import _entries_of
from ledger_service.chart.service import GENESIS_HASH
from ledger_service.eventlog.model import HASH_VERSION, chain_hash, chain_record
from ledger_service.store.tables import chain_heads, events, subsidiaries


@contextmanager
def guards_down(conn: Connection, *tables: str, restore: bool = True):
    """Switch off every trigger of `tables` for the statements run inside, then switch them back on (or leave
    them off), and commit: PostgreSQL's ALTER TABLE ... DISABLE TRIGGER USER, SQLite's DROP TRIGGER."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield conn
        if restore:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    else:
        marks = ", ".join(f"'{t}'" for t in tables)
        saved = conn.execute(text(f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                  f"AND tbl_name IN ({marks})")).all()
        for name, _sql in saved:
            conn.execute(text(f"DROP TRIGGER {name}"))
        yield conn
        if restore:
            for _name, sql in saved:
                conn.execute(text(sql))
    conn.commit()


def rechain(conn: Connection, sub: str, from_seq: int = 1, version: int = HASH_VERSION) -> None:
    """Recompute the hashes of `sub`'s chain from `from_seq` on, as `verify` would (the hash function is
    public), and move the chain head: what an attacker does after changing a row. Needs the guards of events
    down (guards_down)."""
    functional = conn.execute(select(subsidiaries.c.functional_currency).where(subsidiaries.c.code == sub)).scalar()
    prev = GENESIS_HASH if from_seq == 1 else conn.execute(
        select(events.c.hash).where(events.c.subsidiary == sub, events.c.seq == from_seq - 1)).scalar()
    rows = [dict(r) | {"functional_currency": functional} for r in conn.execute(
        select(events).where(events.c.subsidiary == sub, events.c.seq >= from_seq).order_by(events.c.seq)).mappings()]
    entry_rows, posting_rows = _entries_of(conn, [r["id"] for r in rows])
    seq = from_seq - 1
    for ev in rows:
        e_rows = entry_rows.get(ev["id"], [])
        p_rows = [posting_rows.get(e["id"], []) for e in e_rows]
        new = chain_hash(prev, chain_record(ev, e_rows, p_rows, version))
        conn.execute(events.update().where(events.c.id == ev["id"]).values(prev_hash=prev, hash=new))
        prev, seq = new, ev["seq"]
    conn.execute(chain_heads.update().where(chain_heads.c.subsidiary == sub).values(seq=seq, hash=prev))
