"""Posting rules for Amazon money: every settlement row or Finances amount becomes its own balanced entry.

The problem: connectors post one summary per settlement and plug what they cannot classify. Here each amount
posts to its own mapped account against the Amazon clearing account of its marketplace and currency, tagged with
its settlement id, order id and sku; the disbursement moves clearing to the bank. So, per settlement, clearing
nets to the deposit, and anything unmapped sits visibly in suspense (and in the exception queue), never in a plug.

Signs follow Amazon: a positive amount is owed to the seller, so clearing is debited by the amount and the mapped
account credited (a sale credits revenue; a fee, being negative, debits its expense).

Finances events from an open event group are provisional: their entries post as `pending`. The closed settlement
(flat file or closed group) posts final entries; ingest.precedence reverses what they supersede.

An amount in a currency other than the subsidiary's functional currency posts in its own currency; the planner
(ingest.plan) gives its entry the rate of the entry's date. A foreign settlement paid out is converted by Amazon into
the functional-currency bank account: settlement_events posts the conversion and its realized FX (docs/fx.md).

Pure: no I/O. The caller (ingest.service) supplies the mapping and writes what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from ledger_service.errors import Invalid
from ledger_service.eventlog.model import EventDraft, Source, sha256_hex
from ledger_service.journal.model import EntryDraft, Posting, money_posting
from ledger_service.journal.model import dims as sorted_dims  # `dims` names a local below
from ledger_service.money import round_money
from ledger_service.sources.model import AmazonAmount, ParseError, SettlementSummary, posted_day

CLEARING = "Assets:Amazon:Clearing"
SUSPENSE = "Assets:Suspense:Amazon"
BANK = "Assets:Bank:Operating"
PAYABLE = "Liabilities:Amazon:Payable"  # negative settlements the seller owes Amazon, until collected
CONVERSION = "Assets:Amazon:Conversion"  # a foreign settlement on its way into the functional-currency bank
REALIZED_FX = "Income:FX:Realized"
VAT = "Liabilities:Tax:VAT"
VAT_INCLUSIVE_ROLES = ("revenue", "contra_revenue", "promotion")
CARRIED_TAX_ROLES = ("sales_tax", "vat", "tax_withheld")  # a transaction's own tax rows

@dataclass(frozen=True)
class Posted:
    event: EventDraft
    entries: tuple[EntryDraft, ...]
    suspense: int = 0  # amounts whose type is unmapped: they sit in suspense and in the exception queue


def _source(ref) -> Source:
    return Source(system=ref.system, document=ref.document, sha256=ref.sha256, line=ref.line, page=ref.page)


def triple_text(triple: tuple[str, str, str]) -> str:
    return " / ".join(triple)


def amount_key(amount: AmazonAmount) -> str:
    """The event's idempotency key: provisional and final versions of the same Finances event are two facts."""
    return amount.natural_key if amount.final else f"{amount.natural_key}:provisional"


def amount_entry(subsidiary: str, amount: AmazonAmount, mapping, superseded: bool = False,
                 default_date: datetime | None = None) -> Posted:
    """One Amazon amount -> one event and its entry: clearing against the mapped account (or suspense).

    A superseded amount (Finances data for a settlement whose flat file is already posted) is recorded in the
    log with no entry, so that it is kept but never counted twice.
    """
    system = amount.source.system  # the mapping knows each parser's system (legacy triples are normalised)
    rule, triple = mapping.lookup(system, amount.triple, amount.marketplace)
    account = rule.account if rule is not None else SUSPENSE
    # Some events carry no date (ServiceFeeEvent): the caller gives the date of their document (the group's end or
    # start), never the clock.
    when = amount.posted_at or default_date
    if when is None:
        raise Invalid(f"{amount.natural_key}: no posted date and no default date")
    dims = dict(marketplace=amount.marketplace, settlement_id=amount.settlement_id, order_id=amount.order_id,
                sku=amount.sku, amazon_type=triple_text(triple))
    if rule is not None and getattr(rule, "role", None):
        dims["role"] = rule.role
    postings = [money_posting(CLEARING, amount.amount, **{k: v for k, v in dims.items() if k != "role"}),
                money_posting(account, -amount.amount, **dims)]
    vat = _included_vat(amount, rule, mapping, when)
    if vat:  # VAT inside a VAT-inclusive price is owed to the tax authority, never revenue
        postings[1] = money_posting(account, -(amount.amount - vat), **dims)
        postings.append(money_posting(VAT, -vat, **{**dims, "role": "vat"}))
    entry = EntryDraft(
        subsidiary=subsidiary,
        date=posted_day(when),
        currency=amount.currency,
        description=f"{triple_text(triple)}" + (f" {amount.order_id}" if amount.order_id else ""),
        postings=tuple(postings),
        state="posted" if amount.final else "pending",
    )
    # The kind and the input hash depend on the source alone, never on the ledger's state (superseded or not),
    # so the same page ingested again is always a duplicate, before or after its flat file.
    event = EventDraft(
        subsidiary=subsidiary,
        kind="amazon_amount" if amount.final else "amazon_amount_provisional",
        occurred_at=when,
        idempotency_key=amount_key(amount),
        raw=amount.source.raw,
        source=_source(amount.source),
        content={"raw": amount.source.raw, "final": amount.final},
        payload=amount_payload(amount) | ({"superseded": True} if superseded else {}),
    )
    if superseded:
        return Posted(event, ())
    return Posted(event, (entry,), suspense=int(rule is None))


def transaction_key(amount: AmazonAmount) -> tuple:
    """Consecutive flat-file rows with equal keys are one Amazon transaction (an order item's principal, tax,
    commission, FBA fee...; a refund's lines; a fee on a date)."""
    return (amount.settlement_id, amount.currency, amount.final, amount.transaction_type, amount.order_id,
            amount.merchant_order_id, amount.adjustment_id, amount.shipment_id, amount.order_item_code, amount.sku,
            amount.marketplace, amount.fulfillment_id, amount.posted_at)


def transaction_entry(subsidiary: str, amounts: list[AmazonAmount], mapping, default_date: datetime | None = None
                      ) -> Posted:
    """The rows of one Amazon transaction in a settlement flat file -> one event and one entry.

    Each amount posts to its mapped account (or suspense) with the line it was read from; clearing takes their
    sum once. The event keeps every raw row; its key names the first row and how many follow, which is stable
    because a flat file is a closed settlement read whole (the settlement's summary event, posted at the end of the
    file, carries a digest of all its rows, so a changed file is a conflict, never a second posting).
    """
    first = amounts[0]
    system = first.source.system  # the mapping knows each parser's system (legacy triples are normalised)
    when = first.posted_at or default_date
    if when is None:
        raise Invalid(f"{first.natural_key}: no posted date and no default date")
    # Dimensions as journal.model.dims() would sort them, built in key order: this runs for every row ingested.
    low = tuple((k, v) for k, v in (("marketplace", first.marketplace), ("order_id", first.order_id)) if v)
    high = tuple((k, v) for k, v in (("settlement_id", first.settlement_id), ("sku", first.sku)) if v)
    lines, total, suspense, carved, taxed = [], Decimal(0), 0, None, None
    carving = bool(mapping.vat_inclusive)  # only VAT-inclusive profiles carve: skip the check per row otherwise
    for amount in amounts:
        rule, triple = mapping.lookup(system, amount.triple, amount.marketplace)
        kind = _kind(triple)
        if rule is None:
            account, role, suspense = SUSPENSE, None, suspense + 1
        else:
            account, role = rule.account, rule.role
        dims = (kind, *low, ("role", role), *high) if role else (kind, *low, *high)
        line = amount.source.line
        vat = _included_vat(amount, rule, mapping, when) if carving else 0
        lines.append(Posting(account, -(amount.amount - vat), dimensions=dims, source_line=line))
        if vat:  # VAT inside a VAT-inclusive price is owed to the tax authority, never revenue
            lines.append(Posting(VAT, -vat, dimensions=(kind, *low, ("role", "vat"), *high), source_line=line))
            carved = carved or amount
        elif role in CARRIED_TAX_ROLES:
            taxed = taxed or amount
        total += amount.amount
    if carved is not None and taxed is not None:  # carving VAT out again would double it
        raise ParseError(taxed.source.document, taxed.source.line,
                         f"{triple_text(taxed.triple)}: this transaction reports its own tax, but subsidiary "
                         f"{subsidiary}'s tax profile for {carved.marketplace or 'its marketplace'} "
                         f"({mapping.profile_for(carved.marketplace)}) carves VAT out of VAT-inclusive prices; use "
                         "a profile with Amazon's VAT Calculation Service (uk-vcs, eu-vcs) for this marketplace")
    label = first.order_id or first.shipment_id or first.adjustment_id
    entry = EntryDraft(
        subsidiary=subsidiary,
        date=posted_day(when),
        currency=first.currency,
        description=(triple_text(first.triple) if len(amounts) == 1 else f"{first.transaction_type}: {len(amounts)} amounts")
        + (f" {label}" if label else ""),
        postings=(Posting(CLEARING, total, dimensions=low + high), *lines),
        state="posted" if first.final else "pending",
    )
    raws = [a.source.raw for a in amounts]
    event = EventDraft(
        subsidiary=subsidiary,
        kind="amazon_amount",
        occurred_at=when,
        idempotency_key=first.natural_key if len(amounts) == 1 else f"{first.natural_key}+{len(amounts) - 1}",
        raw="\n".join(raws),
        source=_source(first.source),
        content={"raw": raws if len(amounts) > 1 else raws[0], "final": first.final},
        payload=transaction_payload(amounts),
    )
    return Posted(event, (entry,), suspense=suspense)


@lru_cache(maxsize=4096)
def _kind(triple: tuple[str, str, str]) -> tuple[str, str]:
    return ("amazon_type", triple_text(triple))  # the same few triples on every row


def transaction_payload(amounts: list[AmazonAmount]) -> dict:
    """The parsed transaction: what its rows share, then each amount with its line."""
    first = amounts[0]
    return {"settlement_id": first.settlement_id, "currency": first.currency, "final": first.final,
            "transaction_type": first.transaction_type, "order_id": first.order_id, "sku": first.sku,
            "marketplace": first.marketplace, "posted_at": first.posted_at,
            "amounts": [{"line": a.source.line, "amount_type": a.amount_type,
                         "amount_description": a.amount_description, "amount": a.amount}
                        | ({"quantity": a.quantity} if a.quantity is not None else {}) for a in amounts]}


def _included_vat(amount: AmazonAmount, rule, mapping, when: datetime) -> Decimal:
    """The VAT inside a VAT-inclusive sale, refund or promotion: amount x rate / (1 + rate), rounded once, at the
    rate of the marketplace's country on the amount's date; zero where the marketplace's profile is not
    VAT-inclusive."""
    if rule is None or rule.role not in VAT_INCLUSIVE_ROLES:
        return Decimal(0)
    inclusive, country = mapping.vat_country(amount.marketplace)
    if not inclusive:
        return Decimal(0)
    rate = mapping.vat_rates.rate(country, posted_day(when)) if country else None
    if rate is None:
        raise ParseError(amount.source.document, amount.source.line or amount.source.page,
                         f"no VAT rate for marketplace {amount.marketplace or '(blank)'} on {posted_day(when)}: its "
                         "tax profile carves VAT out of VAT-inclusive prices; add the country and rate to "
                         "accounts/tax/vat_rates.toml, or give the marketplace another profile")
    return round_money(amount.amount * rate / (1 + rate), amount.currency)


def disbursement_date(summary: SettlementSummary) -> datetime | None:
    """The date a settlement's disbursement (or carry) posts on: its deposit date, else its end, else its start."""
    return summary.deposit_date or summary.end or summary.start


def settlement_events(subsidiary: str, summary: SettlementSummary, superseded: bool = False,
                      rows: tuple[int, str] | None = None, *, functional_currency: str | None = None,
                      rate: Decimal | None = None, carried: Decimal | None = None) -> Posted:
    """The settlement's summary as an event; a closed settlement with a non-zero total also posts its disbursement.

    `rows` (a flat file's settlement: how many amounts, and a digest of its transactions' input hashes) makes the
    summary's input hash cover the whole settlement: the same settlement id with any row changed is a conflict.

    A positive total moves from clearing to the bank on the deposit date. A negative total is no cash movement:
    Amazon carries it into the next settlement (a `Payable to Amazon` row there), where sales absorb it or the
    seller's card is charged (`Successful charge`). So it moves from clearing to Liabilities:Amazon:Payable, which
    the next settlement's Payable to Amazon row clears; only the real charge touches the bank or card.

    A settlement in a currency other than `functional_currency` needs `rate`, the rate of its deposit date (the
    caller reads it; this stays pure). A positive one is Amazon converting it into the functional-currency bank
    account, and needs `carried`, the functional value at which clearing holds the settlement (the caller sums it
    from the ledger: fx.lookups.clearing_held); see _converted.
    """
    total = summary.total_amount
    when = disbursement_date(summary)
    entries: tuple[EntryDraft, ...] = ()
    if summary.final and not superseded and total is not None and total != 0:
        if when is None:  # a disbursement needs a date; never invent one
            where = summary.source.line or summary.source.page
            raise Invalid(f"{summary.source.document}:{where}: settlement {summary.settlement_id} has a total but "
                          "no deposit, end or start date to post its disbursement on")
        foreign = functional_currency is not None and summary.currency != functional_currency
        if foreign and rate is None:
            raise Invalid(f"settlement {summary.settlement_id} is in {summary.currency}, not the functional "
                          f"{functional_currency}: its disbursement needs the rate of {posted_day(when)}")
        dims = dict(settlement_id=summary.settlement_id, marketplace=summary.marketplace)
        if total > 0 and foreign:
            if carried is None:
                raise Invalid(f"settlement {summary.settlement_id} in {summary.currency}: its disbursement needs "
                              "the functional value clearing carries it at")
            entries = _converted(subsidiary, summary, posted_day(when), functional_currency, rate, carried, dims)
        else:
            if total > 0:
                to, role = BANK, "disbursement"
                description = f"Disbursement of settlement {summary.settlement_id}"
            else:
                # In a foreign currency too, the carry stays in the settlement's currency, at the deposit date's
                # rate, with no realized FX: no cash moved, nothing was converted. What the rows' rates and this one
                # leave in clearing is a balance like any other: revalued at period end (fx.revaluation).
                to, role = PAYABLE, "carried_balance"
                description = f"Settlement {summary.settlement_id} is negative: owed to Amazon, carried forward"
            entries = (EntryDraft(
                subsidiary=subsidiary,
                date=posted_day(when),
                currency=summary.currency,
                description=description,
                postings=(money_posting(to, total, **dims, role=role),
                          money_posting(CLEARING, -total, **dims)),
                rate=rate if foreign else Decimal(1),
            ),)
    raw = summary.source.raw
    if summary.source.system.startswith("amazon-settlement"):
        key = f"settlement:{summary.settlement_id}:summary"
    else:  # an event group: each snapshot of an open group is its own fact; the closed group is one
        key = f"group:{summary.settlement_id}:" + ("closed" if summary.final else f"open:{sha256_hex(raw)[:16]}")
    event = EventDraft(
        subsidiary=subsidiary,
        kind="amazon_settlement" if summary.final else "amazon_settlement_open",
        occurred_at=when or _undated(summary),
        idempotency_key=key,
        raw=raw,
        source=_source(summary.source),
        content={"raw": raw, "summary": summary_fields(summary)} | ({"rows": list(rows)} if rows else {}),
        payload=summary_fields(summary) | ({"rows": rows[0]} if rows else {}),
    )
    return Posted(event, entries)


def _converted(subsidiary: str, summary: SettlementSummary, day, functional_currency: str, rate: Decimal,
               carried: Decimal, tags: dict) -> tuple[EntryDraft, EntryDraft]:
    """A positive foreign settlement paid out: Amazon converts it into the functional-currency bank account.

    Amazon's own conversion rate is not in the settlement file, so the deposit date's rate stands for it (the bank
    reconciliation shows any difference). Two entries, both tagged with the settlement:
    1. in the settlement currency at that rate: clearing gives up the settlement at the functional value it carried
       it at (`carried`), Assets:Amazon:Conversion takes it at round(total x rate), and the difference is realized
       FX (amount 0, functional only; a credit is a gain);
    2. in the functional currency: the bank receives round(total x rate) out of Conversion.
    So clearing for the settlement nets to zero in both currencies, and Conversion nets to zero in functional
    value (it holds the foreign amount in and the functional amount out: a trading account, never revalued).
    """
    total = summary.total_amount
    converted = round_money(total * rate, functional_currency)
    gain = converted - carried
    postings = [
        Posting(CLEARING, -total, functional_amount=-carried, dimensions=sorted_dims(**tags)),
        Posting(CONVERSION, total, functional_amount=converted, dimensions=sorted_dims(**tags, role="conversion")),
    ]
    if gain:
        postings.append(Posting(REALIZED_FX, Decimal(0), functional_amount=-gain,
                                dimensions=sorted_dims(**tags, role="realized_fx")))
    pair = f"{summary.currency}->{functional_currency}"
    exchange = EntryDraft(
        subsidiary=subsidiary, date=day, currency=summary.currency, rate=rate, postings=tuple(postings),
        description=f"Disbursement of settlement {summary.settlement_id}: {summary.currency} converted at {pair} "
                    f"{format(rate.normalize(), 'f')}",
    )
    deposit = EntryDraft(
        subsidiary=subsidiary, date=day, currency=functional_currency,
        description=f"Disbursement of settlement {summary.settlement_id}: {converted} {functional_currency} to the bank",
        postings=(money_posting(BANK, converted, **tags, role="disbursement"),
                  money_posting(CONVERSION, -converted, **tags, role="conversion")),
    )
    return exchange, deposit


def _undated(summary: SettlementSummary) -> datetime:
    where = summary.source.line or summary.source.page
    raise ParseError(summary.source.document, where, f"settlement or event group {summary.settlement_id} has no "
                     "start, end or deposit date: refused rather than dated by the clock")


def summary_fields(summary: SettlementSummary) -> dict:
    return {"settlement_id": summary.settlement_id, "currency": summary.currency,
            "total_amount": summary.total_amount, "start": summary.start, "end": summary.end,
            "deposit_date": summary.deposit_date, "final": summary.final}


def amount_payload(amount: AmazonAmount) -> dict:
    return {"settlement_id": amount.settlement_id, "currency": amount.currency, "amount": amount.amount,
            "transaction_type": amount.transaction_type, "amount_type": amount.amount_type,
            "amount_description": amount.amount_description, "posted_at": amount.posted_at,
            "order_id": amount.order_id, "sku": amount.sku, "quantity": amount.quantity,
            "marketplace": amount.marketplace, "final": amount.final}
