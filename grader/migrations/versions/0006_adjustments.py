"""Adjustments: overrides of a check's or a total score, voided checks and their undoing, append-only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignments.id"), nullable=False),
        sa.Column("student", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("check_name", sa.String(200), nullable=True),
        sa.Column("points", sa.Float(), nullable=True),
        sa.Column("old_points", sa.Float(), nullable=True),
        sa.Column("graded_points", sa.Float(), nullable=True),
        sa.Column("graded_passed", sa.Boolean(), nullable=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("reverses", sa.Integer(), sa.ForeignKey("adjustments.id"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(200), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_adjustments_assignment_id", "adjustments", ["assignment_id"])


def downgrade() -> None:
    op.drop_index("ix_adjustments_assignment_id", "adjustments")
    op.drop_table("adjustments")
