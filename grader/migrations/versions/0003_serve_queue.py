"""The grading service's queue (`grader serve`): one row per commit a webhook asked to grade.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serve_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("forge", sa.String(20), nullable=False),
        sa.Column("project", sa.String(300), nullable=False),
        sa.Column("repository", sa.String(200), nullable=False),
        sa.Column("clone_url", sa.Text(), nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("pull_request", sa.Integer(), nullable=True),
        sa.Column("assignment", sa.String(100), nullable=False),
        sa.Column("student", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("max_score", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("comment_url", sa.Text(), nullable=False),
    )
    op.create_index("ix_serve_jobs_student", "serve_jobs", ["student"])
    op.create_index("ix_serve_jobs_state", "serve_jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_serve_jobs_state", "serve_jobs")
    op.drop_index("ix_serve_jobs_student", "serve_jobs")
    op.drop_table("serve_jobs")
