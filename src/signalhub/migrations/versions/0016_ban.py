"""users: is_blocked becomes bot_blocked; banned_at and token_version for the admin's ban

Revision ID: 0016
Revises: 0012
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: on SQLite a batch rebuilds the table, and dropping
    # `users` while other tables' rows point at it breaks their foreign keys.
    op.alter_column("users", "is_blocked", new_column_name="bot_blocked")
    op.add_column("users", sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users",
        sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("users", "token_version")
    op.drop_column("users", "banned_at")
    op.alter_column("users", "bot_blocked", new_column_name="is_blocked")
