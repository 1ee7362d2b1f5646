"""`ledger-service verify`, `rebuild` and `checkpoint`: is the log what was written, and can anyone tell later.

verify exits 1 on any problem it finds (a broken chain, an unbalanced entry, a guard trigger gone, projections
that differ from a rebuild, a checkpoint the ledger no longer matches or one that is forged). rebuild refuses
over a broken log. checkpoint writes the chains' heads, signed with a key kept outside the database, for a
later `verify --checkpoint` (balances.checkpoint). Without a key, checkpoint and verify --checkpoint refuse to
run (one line, exit 2, as for any configuration problem).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ledger_service.balances import checkpoint as checkpoints
from ledger_service.balances import integrity
from ledger_service.cli.common import FormatOpt, engine, fail, one_line_errors
from ledger_service.cli.output import Format, console, emit, errors, write_csv
from ledger_service.errors import LedgerError
from ledger_service.store.engine import write_transaction

VERIFY_CSV = ["ok", "events", "entries", "legacy_events", "first_broken_event", "checkpoint", "problem"]
KeyFileOpt = Annotated[Optional[Path], typer.Option(
    "--key-file", help=f"file holding the checkpoint HMAC key (default: ${checkpoints.KEY_ENV})", dir_okay=False,
    show_default=False)]


def verify(checkpoint: Annotated[Optional[Path], typer.Option(
               "--checkpoint", help="also check that every chain still holds the heads of this signed checkpoint",
               dir_okay=False, show_default=False)] = None,
           key_file: KeyFileOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Check the hash chains, that every entry balances, the guard triggers, and that projections equal a rebuild
    (and, with --checkpoint, that no chain was cut back or rewritten since); exit 1 if not."""
    key = checkpoints.load_key(key_file) if checkpoint is not None else None  # no key: refuse before any work
    anchor, forged = None, None
    if checkpoint is not None:
        try:
            anchor = checkpoints.read(checkpoint, key)
        except checkpoints.BadCheckpoint as exc:
            forged = exc.message  # reported with whatever else verify finds; its contents are not used
    with engine().connect() as conn:
        report = integrity.verify(conn, anchor)
    if forged:
        report.fail(None, forged)
    data = {"ok": report.ok, "events": report.events, "entries": report.entries,
            "legacy_events": report.legacy_events, "first_broken_event": report.first_broken_event,
            "checkpoint": None if anchor is None else {"file": str(checkpoint), "written_at": anchor.written_at,
                                                       "chains": len(anchor.chains)},
            "problems": report.problems}
    if fmt == Format.json:
        emit(data, fmt)
    elif fmt == Format.csv:  # one row per problem (one row when there is none), the summary on each
        summary = {k: data[k] for k in VERIFY_CSV[:5]} | {
            "checkpoint": f"{checkpoint} ({anchor.written_at})" if anchor else ""}
        write_csv([summary | {"problem": p} for p in report.problems] or [summary | {"problem": ""}], VERIFY_CSV)
    elif report.ok:
        legacy = f" ({report.legacy_events} hashed before migration 0006, record version 1)" \
            if report.legacy_events else ""
        anchored = f"; every chain holds the heads of checkpoint {checkpoint} ({anchor.written_at})" if anchor else ""
        console.print(f"[green]ok[/green]: {report.events} events{legacy}, {report.entries} entries; chains intact, "
                      f"every entry balanced, guard triggers in place, projections equal a rebuild{anchored}")
    else:
        first = f": first broken event {report.first_broken_event}" if report.first_broken_event is not None else ""
        errors.print(f"[red]broken[/red]{first}", highlight=False)
        for problem in report.problems[:20]:
            errors.print(f"  - {problem}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def rebuild() -> None:
    """Recompute every projection (daily and month-end balances, chain heads, periods, catalog, locations and
    lanes) from the log; refused over a broken log."""
    with one_line_errors():
        with write_transaction(engine()) as conn:
            result = integrity.rebuild(conn)
    console.print(f"rebuilt from the log: {result['balance_rows']} daily balance rows, "
                  f"{result['month_balance_rows']} month-end rows, {result['periods']} closed or reopened periods, "
                  f"{result['catalogs']} catalogs, {result['location_changes']} location changes")


def checkpoint(out: Annotated[Path, typer.Option("--out", help="file to write the signed checkpoint to",
                                                 dir_okay=False, show_default=False)],
               key_file: KeyFileOpt = None) -> None:
    """Write each chain's head (last seq and hash), signed with HMAC-SHA256, after checking the log; keep the file
    off the database's host and check against it later with `verify --checkpoint`."""
    key = checkpoints.load_key(key_file)
    try:
        with engine().connect() as conn:
            anchor = integrity.anchor(conn)
        checkpoints.write(out, anchor, key)
    except LedgerError as exc:
        fail(exc)
    except OSError as exc:
        fail(ValueError(f"cannot write {out}: {exc.strerror or exc}"))
    chains = ", ".join(f"{sub} seq {seq}" for sub, (seq, _) in sorted(anchor.chains.items()))
    console.print(f"checkpoint written to {out} ({anchor.written_at}): {chains or 'no subsidiaries'}")
