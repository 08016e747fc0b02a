"""`signalhub catalog apply`: the catalog as configuration, idempotent, keeping what was sold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub import cli, seed
from signalhub.catalog import service as catalog
from signalhub.catalog.file import CatalogFileError, read_catalog_file
from signalhub.catalog.schemas import ProductCreate
from signalhub.catalog.service import CatalogChange, ChangeKind
from signalhub.models import AuditLog
from tests.factories import create_payment, create_product, create_user

EXAMPLE = Path(__file__).parents[2] / "catalog.example.yaml"


def example_products() -> list[ProductCreate]:
    return read_catalog_file(EXAMPLE).products


def test_the_example_file_is_todays_seed_catalog() -> None:
    assert example_products() == list(seed.PRODUCTS)


async def test_applying_twice_changes_nothing_the_second_time(session: AsyncSession) -> None:
    first = await catalog.apply(session, example_products())
    assert first == [
        CatalogChange(ChangeKind.created, code)
        for code in ("premium_monthly", "vip_monthly", "enterprise_monthly")
    ]
    audit_entries = len((await session.scalars(select(AuditLog))).all())

    assert await catalog.apply(session, example_products()) == []
    assert len((await session.scalars(select(AuditLog))).all()) == audit_entries


async def test_a_changed_entry_updates_the_product_and_says_how(session: AsyncSession) -> None:
    await catalog.apply(session, example_products())
    edited = [
        product.model_copy(update={"price_amount_minor": 2900, "features": ["All signals"]})
        if product.code == "premium_monthly"
        else product
        for product in example_products()
    ]
    (change,) = await catalog.apply(session, edited)
    assert change.kind is ChangeKind.updated
    assert str(change) == (
        "updated premium_monthly: features ['All signals in real time', 'One MT5 device', "
        "'Approve or reject in one tap'] -> ['All signals'], price_amount_minor 1900 -> 2900"
    )
    premium = await catalog.get_by_code(session, "premium_monthly")
    assert (premium.price_amount_minor, premium.features) == (2900, ["All signals"])
    assert await catalog.apply(session, edited) == []


async def test_a_product_left_out_is_deleted_unless_it_was_paid_for(
    session: AsyncSession,
) -> None:
    sold = await create_product(session, code="sold_plan")
    await create_product(session, code="never_sold")
    await create_payment(session, await create_user(session), sold)

    changes = await catalog.apply(session, example_products())
    assert set(changes[3:]) == {
        CatalogChange(ChangeKind.deactivated, "sold_plan", "it has payments"),
        CatalogChange(ChangeKind.deleted, "never_sold"),
    }
    assert await catalog.find_by_code(session, "never_sold") is None
    kept = await catalog.get_by_code(session, "sold_plan")
    assert kept.is_active is False
    assert await catalog.apply(session, example_products()) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("products: [", "not valid YAML"),
        ("- just a list", "Input should be a valid dictionary"),
        ("products:\n  - code: BAD CODE", "products.0.code"),
        ("products:\n  - {code: a1, name: A, tier: free, duration_days: 30,"
         " price_amount_minor: 1, price_stars: 1}", "products.0.tier"),
        ("products:\n  - {code: a1, name: A, tier: vip, duration_days: 30, price_amount_minor: 1,"
         " price_stars: 1}\n  - {code: a1, name: B, tier: vip, duration_days: 30,"
         " price_amount_minor: 1, price_stars: 1}", "appear more than once: a1"),
    ],
)  # fmt: skip
def test_a_wrong_file_says_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(CatalogFileError, match=problem):
        read_catalog_file(path)
    with pytest.raises(CatalogFileError, match="No such file"):
        read_catalog_file(tmp_path / "missing.yaml")


def test_cli_applies_the_file_and_prints_the_changes(
    sqlite_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(EXAMPLE.read_text())
    capsys.readouterr()

    assert cli.main(["catalog", "apply", str(catalog_file)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created premium_monthly",
        "created vip_monthly",
        "created enterprise_monthly",
        "catalog: 3 changes, 3 products in file",
    ]
    assert cli.main(["catalog", "apply", str(catalog_file)]) == 0
    assert capsys.readouterr().out.splitlines() == ["catalog: no changes, 3 products in file"]

    document = yaml.safe_load(catalog_file.read_text())
    document["products"][1]["is_active"] = False
    catalog_file.write_text(yaml.safe_dump(document))
    assert cli.main(["catalog", "apply", str(catalog_file)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "updated vip_monthly: is_active True -> False"

    assert cli.main(["catalog", "apply", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
