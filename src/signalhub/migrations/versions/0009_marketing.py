"""marketing: broadcast templates, broadcasts, deliveries, clicks; opt-out; richer outbox rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BROADCAST_STATUS = sa.Enum(
    "draft",
    "scheduled",
    "sending",
    "sent",
    "cancelled",
    "failed",
    name="broadcaststatus",
    native_enum=False,
    length=16,
)
DELIVERY_STATUS = sa.Enum(
    "pending",
    "queued",
    "delivered",
    "failed",
    "blocked",
    "skipped",
    "cancelled",
    name="deliverystatus",
    native_enum=False,
    length=16,
)


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", BIG_ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: on SQLite a batch rebuilds the table, and dropping
    # `users` while other tables' rows point at it breaks their foreign keys.
    op.add_column(
        "users",
        sa.Column("marketing_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("outbox", sa.Column("parse_mode", sa.String(length=16), nullable=True))
    op.add_column("outbox", sa.Column("photo_url", sa.String(length=1024), nullable=True))

    op.create_table(
        "broadcast_templates",
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_url", sa.String(length=1024), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", BIG_ID, nullable=True),
        _id(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_broadcast_templates_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_templates")),
    )
    op.create_table(
        "broadcasts",
        sa.Column("template_id", BIG_ID, nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("status", BROADCAST_STATUS, nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", BIG_ID, nullable=True),
        sa.Column("targeted_count", sa.Integer(), nullable=False),
        sa.Column("delivered_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("cancelled_count", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.String(length=256), nullable=True),
        sa.Column("progress_outbox_id", BIG_ID, nullable=True),
        sa.Column("progress_tenths", sa.Integer(), nullable=False),
        _id(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_broadcasts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["progress_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_broadcasts_progress_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["broadcast_templates.id"],
            name=op.f("fk_broadcasts_template_id_broadcast_templates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_status_scheduled_at", "broadcasts", ["status", "scheduled_at"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("broadcast_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("status", DELIVERY_STATUS, nullable=False),
        sa.Column("outbox_id", BIG_ID, nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_reason", sa.Text(), nullable=True),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True),
        _id(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_deliveries_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_broadcast_deliveries_outbox_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_broadcast_deliveries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_deliveries")),
        sa.UniqueConstraint(
            "broadcast_id", "user_id", name=op.f("uq_broadcast_deliveries_broadcast_id_user_id")
        ),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_broadcast_deliveries_outbox_id")),
    )
    op.create_index(
        "ix_broadcast_deliveries_broadcast_status",
        "broadcast_deliveries",
        ["broadcast_id", "status"],
    )
    op.create_table(
        "broadcast_clicks",
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("button", sa.Integer(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        _id(),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["broadcast_deliveries.id"],
            name=op.f("fk_broadcast_clicks_delivery_id_broadcast_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_clicks")),
        sa.UniqueConstraint(
            "delivery_id", "button", name=op.f("uq_broadcast_clicks_delivery_id_button")
        ),
    )


def downgrade() -> None:
    op.drop_table("broadcast_clicks")
    op.drop_index("ix_broadcast_deliveries_broadcast_status", table_name="broadcast_deliveries")
    op.drop_table("broadcast_deliveries")
    op.drop_index("ix_broadcasts_status_scheduled_at", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_table("broadcast_templates")
    op.drop_column("outbox", "photo_url")
    op.drop_column("outbox", "parse_mode")
    op.drop_column("users", "marketing_opt_out")
