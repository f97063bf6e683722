"""A check's result keeps the message a student may read of it (hidden checks: facts about their own result only).

Existing rows have none: a student's view of them falls back to pass/fail.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_results") as batch:
        batch.add_column(sa.Column("student_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_results") as batch:
        batch.drop_column("student_message")
