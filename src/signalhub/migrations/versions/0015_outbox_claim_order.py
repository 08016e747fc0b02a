"""outbox: ix_outbox_due in the sender's claim order (status, priority, id)

The claim reads pending rows ORDER BY priority, id. With next_attempt_at between priority and id
in the index, PostgreSQL sorted every pending row for each claim: 0.3 s per claim with 100,000
queued. In claim order it reads the first rows of the index and stops; next_attempt_at is
checked per row (rows waiting for a retry are few).

Revision ID: 0015
Revises: 0010
Create Date: 2026-11-30 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_due", ["status", "priority", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index(
            "ix_outbox_due", ["status", "priority", "next_attempt_at", "id"], unique=False
        )
