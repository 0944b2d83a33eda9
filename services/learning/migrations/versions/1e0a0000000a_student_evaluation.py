"""student evaluation

Revision ID: 1e0a0000000a
Revises: 1e0a00000009
Create Date: 2026-12-06 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1e0a0000000a'
down_revision: Union[str, Sequence[str], None] = '1e0a00000009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('evaluation_questionnaires',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('items_json', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('school_id', 'version', name='uq_evaluation_questionnaires_version')
    )
    op.create_table('evaluated_runs',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('course_id', sa.String(length=36), nullable=False),
    sa.Column('course_name', sa.String(length=200), nullable=False),
    sa.Column('course_school_id', sa.String(length=36), nullable=False),
    sa.Column('run_number', sa.Integer(), nullable=False),
    sa.Column('term_code', sa.String(length=20), nullable=False),
    sa.Column('term_ends_on', sa.Date(), nullable=False),
    sa.Column('leader_id', sa.String(length=36), nullable=False),
    sa.Column('closes_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('closed_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('good_score', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('run_id')
    )
    op.create_index('ix_evaluated_runs_school', 'evaluated_runs', ['course_school_id'], unique=False)
    op.create_index('ix_evaluated_runs_course', 'evaluated_runs', ['course_id'], unique=False)
    op.create_table('evaluation_receipts',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('submitted_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'student_id')
    )
    op.create_table('evaluation_answers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=36), nullable=False),
    sa.Column('school_id', sa.String(length=36), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('ratings_json', sa.Text(), nullable=False),
    sa.Column('mean_rating', sa.Float(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_evaluation_answers_run', 'evaluation_answers', ['run_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_evaluation_answers_run', table_name='evaluation_answers')
    op.drop_table('evaluation_answers')
    op.drop_table('evaluation_receipts')
    op.drop_index('ix_evaluated_runs_course', table_name='evaluated_runs')
    op.drop_index('ix_evaluated_runs_school', table_name='evaluated_runs')
    op.drop_table('evaluated_runs')
    op.drop_table('evaluation_questionnaires')
