"""`subsidiaries add|set|show`: a subsidiary created from the command line ingests at once, by its tax profile."""

from __future__ import annotations

import json

from tests.mapping.test_legacy_vocabulary import HEADER


def legacy_ca_file(path, settlement_id: str, start: str, end: str) -> None:
    """An amazon.ca legacy settlement: an order (principal 100.00, HST 13.00, commission -15.00), advertising
    -20.00 with the HST Amazon charges on it (-2.60, other-fee TaxAmount), storage -5.00 in other-amount.
    Total 100 + 13 - 15 - 20 - 2.60 - 5 = 70.40."""
    rows = [
        {"settlement-id": settlement_id, "settlement-start-date": start, "settlement-end-date": end,
         "deposit-date": end, "total-amount": "70.40", "currency": "CAD"},
        {"transaction-type": "Order", "order-id": "702-1", "marketplace-name": "Amazon.ca", "sku": "SKU-1",
         "quantity-purchased": "1", "price-type": "Principal", "price-amount": "100.00",
         "item-related-fee-type": "Commission", "item-related-fee-amount": "-15.00"},
        {"transaction-type": "Order", "order-id": "702-1", "marketplace-name": "Amazon.ca", "sku": "SKU-1",
         "price-type": "Tax", "price-amount": "13.00"},
        {"transaction-type": "ServiceFee", "item-related-fee-type": "Cost of Advertising",
         "item-related-fee-amount": "-20.00", "other-fee-reason-description": "TaxAmount", "other-fee-amount": "-2.60"},
        {"transaction-type": "Storage Fee", "other-amount": "-5.00 "},
    ]
    lines = ["\t".join(HEADER)]
    for cells in rows:
        cells = {"settlement-id": settlement_id, "currency": "CAD", "posted-date": f"{start}T12:00:00+00:00"} | cells
        lines.append("\t".join(cells.get(c, "") for c in HEADER))
    path.write_text("\n".join(lines) + "\n")


def balances(cli, code: str) -> dict[str, str]:
    tb = json.loads(cli("trial-balance", "-s", code, "--format", "json").output)
    return {r["account"]: r["balance"] for r in tb["rows"] if r["balance"] != "0.00"}


def test_a_subsidiary_added_with_a_tax_profile_ingests_at_once(cli, tmp_path):
    result = cli("subsidiaries", "add", "CA", "--currency", "cad", "--tax-profile", "ca", "--name", "Brand Canada")
    assert result.exit_code == 0, result.output
    first = tmp_path / "ca-1.txt"
    legacy_ca_file(first, "8001", "2026-04-01", "2026-04-15")
    report = json.loads(cli("ingest", str(first), "-s", "CA", "--format", "json").output)["files"][0]
    assert (report["format"], report["suspense"]) == ("settlement-legacy", 0)
    assert balances(cli, "CA") == {
        "Assets:Bank:Operating": "70.40",
        "Assets:Tax:InputTaxCredit": "2.60",  # fee_tax defaults to itc: HST on advertising is recoverable
        "Expenses:Amazon:Fees:Advertising": "20.00",
        "Expenses:Amazon:Fees:Referral": "15.00",
        "Expenses:Amazon:Fees:Storage": "5.00",
        "Income:Amazon:Sales:Principal": "-100.00",
        "Liabilities:Tax:GSTHST": "-13.00",
    }
    [s] = json.loads(cli("reconcile", "settlements", "-s", "CA", "--format", "json").output)
    assert s["status"] == "reconciled"

    # A new setting applies to what is ingested after it; what was posted stays.
    assert cli("subsidiaries", "set", "CA", "--fee-tax", "expense").exit_code == 0
    second = tmp_path / "ca-2.txt"
    legacy_ca_file(second, "8002", "2026-04-15", "2026-04-29")
    assert cli("ingest", str(second), "-s", "CA").exit_code == 0
    after = balances(cli, "CA")
    assert (after["Assets:Tax:InputTaxCredit"], after["Expenses:Amazon:Fees:TaxOnFees"]) == ("2.60", "2.60")
    assert after["Liabilities:Tax:GSTHST"] == "-26.00"

    shown = json.loads(cli("subsidiaries", "show", "CA", "--format", "json").output)
    assert (shown["name"], shown["functional_currency"], shown["tax_profile"], shown["fee_tax"]) == (
        "Brand Canada", "CAD", "ca", "expense")
    assert shown["origin"].startswith("event ") and "by cli:" in shown["origin"]


def test_add_refuses_a_missing_or_unknown_profile_and_creates_nothing(cli):
    missing = cli("subsidiaries", "add", "DE", "--currency", "EUR")
    assert missing.exit_code == 1 and "--tax-profile is required" in missing.output
    unknown = cli("subsidiaries", "add", "DE", "--currency", "EUR", "--tax-profile", "vat")
    assert unknown.exit_code == 1 and "unknown tax profile 'vat'" in unknown.output
    bad_account = cli("subsidiaries", "add", "DE", "--currency", "EUR", "--tax-profile", "eu",
                      "--charge-account", "Assets:Nowhere")
    assert bad_account.exit_code == 1 and "Assets:Nowhere" in bad_account.output
    listed = json.loads(cli("subsidiaries", "list", "--format", "json").output)
    assert "DE" not in {s["code"] for s in listed}


def test_marketplace_profiles_and_overrides(cli, tmp_path):
    assert cli("subsidiaries", "add", "EU", "--currency", "EUR", "--tax-profile", "eu",
               "--marketplace-profile", "Amazon.fr=eu-vcs").exit_code == 0
    v2 = tmp_path / "eu.txt"
    header = ("settlement-id settlement-start-date settlement-end-date deposit-date total-amount currency "
              "transaction-type order-id merchant-order-id adjustment-id shipment-id marketplace-name amount-type "
              "amount-description amount fulfillment-id posted-date").split()

    def row(**cells):
        return "\t".join(cells.get(c.replace("-", "_"), "") for c in header)
    # amazon.de without VCS: 119.00 VAT-inclusive, 19.00 carved out; amazon.fr on VCS: 100.00 + VAT row 20.00;
    # a fee the default mapping does not know (-4.00). Total 119 + 100 + 20 - 4 = 235.00.
    text = "\n".join(["\t".join(header),
                      row(settlement_id="9101", settlement_start_date="2026-07-01", settlement_end_date="2026-07-14",
                          deposit_date="2026-07-16", total_amount="235.00", currency="EUR"),
                      row(settlement_id="9101", currency="EUR", transaction_type="Order", order_id="1",
                          marketplace_name="Amazon.de", amount_type="ItemPrice", amount_description="Principal",
                          amount="119.00", posted_date="2026-07-02"),
                      row(settlement_id="9101", currency="EUR", transaction_type="Order", order_id="2",
                          marketplace_name="Amazon.fr", amount_type="ItemPrice", amount_description="Principal",
                          amount="100.00", posted_date="2026-07-03"),
                      row(settlement_id="9101", currency="EUR", transaction_type="Order", order_id="2",
                          marketplace_name="Amazon.fr", amount_type="ItemPrice", amount_description="Tax",
                          amount="20.00", posted_date="2026-07-03"),
                      row(settlement_id="9101", currency="EUR", transaction_type="ServiceFee",
                          amount_type="other-transaction", amount_description="Brand New Fee", amount="-4.00",
                          posted_date="2026-07-04")]) + "\n"
    v2.write_text(text)
    overrides = tmp_path / "overrides.toml"
    overrides.write_text('[[mapping]]\nsystem = "settlement"\ntransaction_type = "*"\namount_type = '
                         '"other-transaction"\namount_description = "Brand New Fee"\n'
                         'account = "Expenses:Amazon:Fees:Other"\nrole = "fee"\n')
    result = cli("subsidiaries", "set", "EU", "--overrides", str(overrides))
    assert result.exit_code == 0, result.output
    report = json.loads(cli("ingest", str(v2), "-s", "EU", "--format", "json").output)["files"][0]
    assert report["suspense"] == 0
    assert balances(cli, "EU") == {
        "Assets:Bank:Operating": "235.00",
        "Expenses:Amazon:Fees:Other": "4.00",
        "Income:Amazon:Sales:Principal": "-200.00",  # 119.00 - 19.00 + 100.00
        "Liabilities:Tax:VAT": "-39.00",  # 19.00 carved out (DE 19%) + 20.00 reported (FR, VCS)
    }


def test_a_carve_out_profile_refuses_a_file_with_its_own_tax_rows(cli, tmp_path):
    assert cli("subsidiaries", "add", "GB", "--currency", "GBP", "--tax-profile", "uk").exit_code == 0
    from tests.ingest.test_ingest import SAMPLE  # the xieyi sample: orders with Tax rows

    text = SAMPLE.read_text().replace("USD", "GBP")
    path = tmp_path / "with-tax.txt"
    path.write_text(text)
    result = cli("ingest", str(path), "-s", "GB")
    assert result.exit_code == 1
    assert "with-tax.txt:" in result.output and "reports its own tax" in result.output
    assert balances(cli, "GB") == {}
