"""login_refusals: Telegram users ruled out of a browser sign-in; a denial no longer ends it

Revision ID: 0012
Revises: 0015
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_refusals",
        sa.Column("login_request_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["login_request_id"],
            ["login_requests.id"],
            name=op.f("fk_login_refusals_login_request_id_login_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_refusals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_refusals")),
        sa.UniqueConstraint(
            "login_request_id",
            "user_id",
            name=op.f("uq_login_refusals_login_request_id_user_id"),
        ),
    )
    op.create_index(op.f("ix_login_refusals_user_id"), "login_refusals", ["user_id"], unique=False)
    # A denial in the bot used to end the sign-in; now it only rules out the one who denied.
    op.execute("UPDATE login_requests SET status = 'pending' WHERE status = 'denied'")


def downgrade() -> None:
    # The older code issues tokens for a confirmed request on the next poll: a confirmation the
    # browser has not accepted must not become a sign-in on the way down.
    op.execute(
        "UPDATE login_requests SET status = 'pending', user_id = NULL WHERE status = 'confirmed'"
    )
    op.drop_index(op.f("ix_login_refusals_user_id"), table_name="login_refusals")
    op.drop_table("login_refusals")
