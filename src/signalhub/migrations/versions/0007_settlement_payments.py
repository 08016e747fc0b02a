"""One settlement path: payment requests, idempotency keys, money as amount_minor + currency

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_requests",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("product_id", BIG_ID, nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_subscription", sa.Boolean(), nullable=False),
        sa.Column("attempt_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_link", sa.Text(), nullable=True),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_payment_requests_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_requests_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_payment_requests_attempt_id")),
        sa.UniqueConstraint(
            "checkout_session_id", name=op.f("uq_payment_requests_checkout_session_id")
        ),
    )
    op.create_index(
        op.f("ix_payment_requests_user_id"), "payment_requests", ["user_id"], unique=False
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.JSON(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "user_id", "scope", "key", name=op.f("uq_idempotency_keys_user_id_scope_key")
        ),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    # Plain ALTERs only (native on SQLite too): rebuilding a table that others reference, as
    # batch mode would, fails on SQLite once rows exist (foreign keys are enforced).
    op.add_column("payments", sa.Column("payment_request_id", BIG_ID, nullable=True))
    op.create_index(
        op.f("ix_payments_payment_request_id"), "payments", ["payment_request_id"], unique=False
    )
    op.execute("ALTER TABLE products RENAME COLUMN price_usd_cents TO price_amount_minor")
    op.add_column(
        "products",
        sa.Column("price_currency", sa.String(length=3), server_default="USD", nullable=False),
    )
    op.execute("ALTER TABLE stripe_events RENAME COLUMN amount_cents TO amount_minor")


def downgrade() -> None:
    op.execute("ALTER TABLE stripe_events RENAME COLUMN amount_minor TO amount_cents")
    op.execute("ALTER TABLE products DROP COLUMN price_currency")
    op.execute("ALTER TABLE products RENAME COLUMN price_amount_minor TO price_usd_cents")
    op.drop_index(op.f("ix_payments_payment_request_id"), table_name="payments")
    op.execute("ALTER TABLE payments DROP COLUMN payment_request_id")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_payment_requests_user_id"), table_name="payment_requests")
    op.drop_table("payment_requests")
