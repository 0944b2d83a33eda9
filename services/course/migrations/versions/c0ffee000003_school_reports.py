"""schools publish their yearly report (resource update ratio, courses' use)

Revision ID: c0ffee000003
Revises: c0ffee000002
Create Date: 2026-11-23 19:00:00

One row per school and school year: when the academic affairs office published its report (seed 002:
教务处定期公布在线课程教学资源更新和利用率等数据), which makes it readable by the province's center and the
school's own teachers.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db

revision: str = 'c0ffee000003'
down_revision: str | Sequence[str] | None = 'c0ffee000002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'school_reports',
        sa.Column('school_id', sa.String(length=36), nullable=False),
        sa.Column('school_year', sa.Integer(), nullable=False),
        sa.Column('province_code', sa.String(length=6), nullable=False),
        sa.Column('published_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.Column('published_by', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('school_id', 'school_year'),
    )
    op.create_index('ix_school_reports_province_code', 'school_reports', ['province_code'])


def downgrade() -> None:
    op.drop_index('ix_school_reports_province_code', table_name='school_reports')
    op.drop_table('school_reports')
