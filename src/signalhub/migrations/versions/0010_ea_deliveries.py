"""ea_deliveries: approved signals handed to devices, and their acks

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BROKER_DECIMAL = sa.Numeric(precision=24, scale=8).with_variant(sa.String(length=32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ea_deliveries",
        sa.Column("approval_id", BIG_ID, nullable=False),
        sa.Column("device_id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket", sa.BigInteger(), nullable=True),
        sa.Column("price", BROKER_DECIMAL, nullable=True),
        sa.Column("volume", BROKER_DECIMAL, nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_ea_deliveries_approval_id_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_ea_deliveries_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ea_deliveries")),
        sa.UniqueConstraint(
            "approval_id", "device_id", name=op.f("uq_ea_deliveries_approval_id_device_id")
        ),
    )
    op.create_index(
        op.f("ix_ea_deliveries_device_id"), "ea_deliveries", ["device_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ea_deliveries_device_id"), table_name="ea_deliveries")
    op.drop_table("ea_deliveries")
