"""Runs keep the raw score, the submission time, lateness and the late penalty (commit 19b5525).

Existing runs had no late policy: their raw score is their score, with no lateness and no penalty.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("raw_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("late_seconds", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("penalty", sa.Float(), nullable=False, server_default="0"))
    op.execute("UPDATE runs SET raw_score = score")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for column in ("penalty", "late_seconds", "submitted_at", "raw_score"):
            batch.drop_column(column)
