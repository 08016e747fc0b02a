"""account_links, account_info, account_positions: MT5 account linking and live positions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exact broker figures: NUMERIC on PostgreSQL, text on SQLite (which would round through a float).
BROKER_DECIMAL = sa.Numeric(precision=24, scale=8).with_variant(sa.String(length=32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_links",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mt5_login", sa.BigInteger(), nullable=False),
        sa.Column("server", sa.String(length=64), nullable=False),
        sa.Column("company", sa.String(length=128), nullable=True),
        sa.Column("currency", sa.String(length=16), nullable=True),
        sa.Column("leverage", sa.Integer(), nullable=True),
        sa.Column(
            "trade_mode",
            sa.Enum("demo", "contest", "real", name="trademode", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "verified",
                "unlinked",
                name="accountlinkstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("pairing_code", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "verified_by_device_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_device_id"],
            ["devices.id"],
            name=op.f("fk_account_links_verified_by_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint(
            "user_id", "mt5_login", "server", name=op.f("uq_account_links_user_id_mt5_login_server")
        ),
    )
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_links_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_account_links_primary_per_user",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text("is_primary"),
            sqlite_where=sa.text("is_primary"),
        )

    op.create_table(
        "account_info",
        sa.Column(
            "account_link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "ea_bridge",
                "simulated",
                "mt5_terminal",
                name="snapshotsource",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("balance", BROKER_DECIMAL, nullable=False),
        sa.Column("equity", BROKER_DECIMAL, nullable=False),
        sa.Column("margin", BROKER_DECIMAL, nullable=False),
        sa.Column("margin_free", BROKER_DECIMAL, nullable=False),
        sa.Column("margin_level", BROKER_DECIMAL, nullable=False),
        sa.Column("profit", BROKER_DECIMAL, nullable=False),
        sa.Column("drawdown_percent", BROKER_DECIMAL, nullable=False),
        sa.Column("positions_count", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_link_id"],
            ["account_links.id"],
            name=op.f("fk_account_info_account_link_id_account_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_account_info_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_info")),
        sa.UniqueConstraint("account_link_id", name=op.f("uq_account_info_account_link_id")),
    )
    with op.batch_alter_table("account_info", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_info_device_id"), ["device_id"], unique=False)

    op.create_table(
        "account_positions",
        sa.Column(
            "account_link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column(
            "type",
            sa.Enum("buy", "sell", name="positiontype", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("volume", BROKER_DECIMAL, nullable=False),
        sa.Column("price_open", BROKER_DECIMAL, nullable=False),
        sa.Column("price_current", BROKER_DECIMAL, nullable=False),
        sa.Column("sl", BROKER_DECIMAL, nullable=False),
        sa.Column("tp", BROKER_DECIMAL, nullable=False),
        sa.Column("profit", BROKER_DECIMAL, nullable=False),
        sa.Column("swap", BROKER_DECIMAL, nullable=False),
        sa.Column("commission", BROKER_DECIMAL, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("magic", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.String(length=64), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_link_id"],
            ["account_links.id"],
            name=op.f("fk_account_positions_account_link_id_account_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_positions")),
        sa.UniqueConstraint(
            "account_link_id", "ticket", name=op.f("uq_account_positions_account_link_id_ticket")
        ),
    )


def downgrade() -> None:
    op.drop_table("account_positions")
    with op.batch_alter_table("account_info", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_info_device_id"))

    op.drop_table("account_info")
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_account_links_primary_per_user",
            postgresql_where=sa.text("is_primary"),
            sqlite_where=sa.text("is_primary"),
        )
        batch_op.drop_index(batch_op.f("ix_account_links_user_id"))

    op.drop_table("account_links")
