"""Storage of subsidiaries, accounts, commodities and each subsidiary's configuration.

`init` loads accounts/ idempotently: missing subsidiaries and accounts are added, existing ones keep their rows
(an account's description and NetSuite id may be updated: they are configuration, not journal). A subsidiary's
configuration (chart.config) is recorded as an event in its own chain; the latest one is in force.

What postings mean depends on these rows, so their identity never changes once written (migration 0006's
triggers, on both engines): an account's subsidiary, name and type, a subsidiary's code and functional currency,
and every column of a commodity. Nothing here updates them; a different account is a new account.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from typing import Collection

from sqlalchemy import Connection, func, select, tuple_

from ledger_service.chart.config import SubsidiaryConfig, from_dict as config_from_dict, read_subsidiary_file
from ledger_service.chart.loader import accounts_for, load_chart
from ledger_service.chart.model import Account, Subsidiary, validate_subsidiary
from ledger_service.errors import Conflict, Invalid, NotFound
from ledger_service.eventlog.model import EventDraft, Source, canonical_json, sha256_hex
from ledger_service.money import currency_exponent
from ledger_service.store.tables import accounts, chain_heads, commodities, events, subsidiaries

GENESIS_HASH = "0" * 64


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def list_subsidiaries(conn: Connection, codes: Collection[str] | None = None, after: str | None = None,
                      limit: int | None = None) -> list[Subsidiary]:
    """Subsidiaries by code: only `codes` when given (a token's scope), after the code `after`, at most `limit`."""
    query = select(subsidiaries).order_by(subsidiaries.c.code)
    if codes is not None:
        query = query.where(subsidiaries.c.code.in_(sorted(codes)))
    if after is not None:
        query = query.where(subsidiaries.c.code > after)
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).mappings()
    return [Subsidiary(r["code"], r["name"], r["functional_currency"], r["valuation_method"]) for r in rows]


def get_subsidiary(conn: Connection, code: str) -> Subsidiary:
    row = conn.execute(select(subsidiaries).where(subsidiaries.c.code == code)).mappings().first()
    if row is None:
        known = ", ".join(s.code for s in list_subsidiaries(conn)) or "none yet: run `ledger-service init`"
        raise NotFound(f"unknown subsidiary {code!r} (known: {known})")
    return Subsidiary(row["code"], row["name"], row["functional_currency"], row["valuation_method"])


def ensure_commodity(conn: Connection, code: str, kind: str) -> tuple[str, int]:
    """The commodity `code`, added if new: its (kind, exponent) as stored."""
    row = conn.execute(select(commodities.c.kind, commodities.c.exponent).where(commodities.c.code == code)).first()
    if row is not None:
        if row.kind != kind:
            raise Conflict(f"commodity {code!r} is already a {row.kind}, cannot also be {kind}")
        return row.kind, row.exponent
    exponent = currency_exponent(code) if kind == "currency" else 0
    conn.execute(commodities.insert().values(code=code, kind=kind, exponent=exponent))
    return kind, exponent


def add_subsidiary(conn: Connection, sub: Subsidiary, chart_accounts: tuple[Account, ...] = ()) -> Subsidiary:
    validate_subsidiary(sub)
    existing = conn.execute(select(subsidiaries.c.code).where(subsidiaries.c.code == sub.code)).first()
    if existing is not None:
        raise Conflict(f"subsidiary {sub.code} already exists")
    conn.execute(
        subsidiaries.insert().values(
            code=sub.code,
            name=sub.name,
            functional_currency=sub.functional_currency,
            valuation_method=sub.valuation_method,
            created_at=utcnow(),
        )
    )
    conn.execute(chain_heads.insert().values(subsidiary=sub.code, seq=0, hash=GENESIS_HASH))
    ensure_commodity(conn, sub.functional_currency, "currency")
    upsert_accounts(conn, sub.code, chart_accounts)
    return sub


def upsert_accounts(conn: Connection, code: str, chart_accounts: tuple[Account, ...]) -> int:
    have = {
        r.name: r
        for r in conn.execute(
            select(accounts.c.id, accounts.c.name, accounts.c.description, accounts.c.netsuite_id).where(
                accounts.c.subsidiary == code
            )
        )
    }
    added = 0
    for account in chart_accounts:
        row = have.get(account.name)
        if row is None:
            conn.execute(
                accounts.insert().values(
                    subsidiary=code,
                    name=account.name,
                    type=account.type,
                    description=account.description,
                    netsuite_id=account.netsuite_id,
                )
            )
            added += 1
        elif (row.description, row.netsuite_id) != (account.description, account.netsuite_id):
            # only these two: subsidiary, name and type are fixed once written (0006's trigger refuses them, and
            # the chain hashes of the postings made on the account cover them), so a type changed in accounts/ is
            # not applied to an existing account
            conn.execute(
                accounts.update()
                .where(accounts.c.id == row.id)
                .values(description=account.description, netsuite_id=account.netsuite_id)
            )
    return added


def load_accounts_dir(conn: Connection, accounts_dir: Path) -> dict:
    """Load accounts/: subsidiaries defined there are created if missing; every subsidiary gets the chart."""
    chart = load_chart(accounts_dir)
    created, accounts_added = [], 0
    known = {s.code for s in list_subsidiaries(conn)}
    for sub in chart.subsidiaries:
        if sub.code not in known:
            add_subsidiary(conn, sub)
            created.append(sub.code)
    for sub in list_subsidiaries(conn):
        accounts_added += upsert_accounts(conn, sub.code, accounts_for(chart, sub.code))
    return {"subsidiaries_created": created, "accounts_added": accounts_added}


def list_accounts(conn: Connection, subsidiary: str | None = None, codes: Collection[str] | None = None,
                  after: int | None = None, limit: int | None = None) -> list[dict]:
    """Accounts by subsidiary and name: of one subsidiary, or of `codes` (a token's scope), or all; after the
    account whose id is `after` (a page's cursor), at most `limit`."""
    query = select(accounts).order_by(accounts.c.subsidiary, accounts.c.name)
    if subsidiary:
        get_subsidiary(conn, subsidiary)
        query = query.where(accounts.c.subsidiary == subsidiary)
    if codes is not None:
        query = query.where(accounts.c.subsidiary.in_(sorted(codes)))
    if after is not None:
        last = conn.execute(select(accounts.c.subsidiary, accounts.c.name).where(accounts.c.id == after)).first()
        if last is None:
            raise Invalid(f"cursor {after} is not an account id; pass the `next` of the previous page")
        query = query.where(tuple_(accounts.c.subsidiary, accounts.c.name) > tuple_(*last))
    if limit is not None:
        query = query.limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def account_refs(conn: Connection, subsidiary: str) -> dict[str, tuple[int, str]]:
    """name -> (id, type) of the subsidiary's accounts: what a posting refers to, and what its hash covers."""
    rows = conn.execute(select(accounts.c.name, accounts.c.id, accounts.c.type)
                        .where(accounts.c.subsidiary == subsidiary))
    return {r.name: (r.id, r.type) for r in rows}


def commodity_kinds(conn: Connection, codes: list[str] | None = None) -> dict[str, tuple[str, int]]:
    query = select(commodities)
    if codes is not None:
        query = query.where(commodities.c.code.in_(codes))
    return {r.code: (r.kind, r.exponent) for r in conn.execute(query)}


CONFIG_KIND = "subsidiary_config"


def subsidiary_config(conn: Connection, code: str, accounts_dir: Path) -> SubsidiaryConfig:
    """The configuration in force: the latest one recorded in the log, else the example file
    accounts/subsidiaries/<CODE>.toml, else the defaults (tax profile "none": any tax goes to suspense)."""
    get_subsidiary(conn, code)
    row = conn.execute(
        select(events.c.id, events.c.payload).where(events.c.subsidiary == code, events.c.kind == CONFIG_KIND)
        .order_by(events.c.seq.desc()).limit(1)).first()
    if row is not None:
        data = json.loads(row.payload)
        author = data.pop("author", None)
        return config_from_dict(data, origin=f"event {row.id} (subsidiary_config by {author})")
    path = Path(accounts_dir) / "subsidiaries" / f"{code}.toml"
    if path.exists():
        return read_subsidiary_file(path, code)
    return SubsidiaryConfig(code, origin="defaults (no configuration recorded)")


def recorded_setting(conn: Connection, code: str, name: str, default: str) -> str:
    """One setting of the configuration last recorded in the log (the writer's view: no accounts folder at hand,
    so an example file's value applies only once `subsidiaries set` or `add` has recorded it)."""
    row = conn.execute(
        select(events.c.payload).where(events.c.subsidiary == code, events.c.kind == CONFIG_KIND)
        .order_by(events.c.seq.desc()).limit(1)).first()
    if row is None or row.payload is None:
        return default
    return json.loads(row.payload).get(name) or default


def record_config(conn: Connection, config: SubsidiaryConfig, accounts_dir: Path, author: str) -> int | None:
    """Record a configuration as an event of the subsidiary's chain, after checking that it loads; None when it
    equals the one in force (nothing recorded)."""
    from ledger_service.journal.writer import post_batch
    from ledger_service.mapping.loader import load_mapping

    load_mapping(accounts_dir, config)  # refuses an unknown profile, account or malformed rule
    current = subsidiary_config(conn, config.code, accounts_dir)
    if current.as_dict() == config.as_dict() and current.origin.startswith("event"):
        return None
    data = config.as_dict()
    previous = conn.execute(select(func.max(events.c.id)).where(
        events.c.subsidiary == config.code, events.c.kind == CONFIG_KIND)).scalar()
    event = EventDraft(subsidiary=config.code, kind=CONFIG_KIND, occurred_at=utcnow().replace(microsecond=0),
                       idempotency_key=f"config:{previous or 0}:{sha256_hex(canonical_json(data))[:16]}",
                       raw=canonical_json(data), source=Source(system="ledger", document=f"configuration by {author}"),
                       payload=data | {"author": author})
    return post_batch(conn, [(event, [])])[0].event_id


def create_subsidiary(conn: Connection, sub: Subsidiary, config: SubsidiaryConfig, accounts_dir: Path,
                      author: str) -> Subsidiary:
    """A new subsidiary with the shared chart and its configuration recorded: it can ingest at once. The
    configuration is checked before anything is written, so a bad profile or account leaves no subsidiary."""
    from ledger_service.mapping.loader import load_mapping

    validate_subsidiary(sub)
    load_mapping(accounts_dir, config)
    added = add_subsidiary(conn, sub, accounts_for(load_chart(accounts_dir), sub.code))
    record_config(conn, config, accounts_dir, author)
    return added
