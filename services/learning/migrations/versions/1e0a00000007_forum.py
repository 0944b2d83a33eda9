"""forum

Revision ID: 1e0a00000007
Revises: 1e0a00000006
Create Date: 2026-12-06 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1e0a00000007'
down_revision: Union[str, Sequence[str], None] = '1e0a00000006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('forum_audit',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=False),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('thread_id', sa.String(length=36), nullable=False),
    sa.Column('post_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_audit', schema=None) as batch_op:
        batch_op.create_index('ix_forum_audit_run', ['run_id', 'at'], unique=False)
    op.create_table('forum_blocked_words',
    sa.Column('province_code', sa.String(length=10), nullable=False),
    sa.Column('word', sa.String(length=50), nullable=False),
    sa.Column('added_by', sa.String(length=36), nullable=False),
    sa.Column('added_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('province_code', 'word')
    )
    op.create_table('forum_posts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('thread_id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=False),
    sa.Column('author_name', sa.String(length=100), nullable=False),
    sa.Column('author_is_team', sa.Boolean(), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('hidden_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_posts', schema=None) as batch_op:
        batch_op.create_index('ix_forum_posts_run_author', ['run_id', 'author_id'], unique=False)
        batch_op.create_index('ix_forum_posts_thread', ['thread_id', 'created_at'], unique=False)
    op.create_table('forum_reads',
    sa.Column('thread_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('read_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('thread_id', 'user_id')
    )
    op.create_table('forum_reports',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('thread_id', sa.String(length=36), nullable=False),
    sa.Column('post_id', sa.String(length=36), nullable=False),
    sa.Column('reporter_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_reports', schema=None) as batch_op:
        batch_op.create_index('ix_forum_reports_run_open', ['run_id', 'resolved_at'], unique=False)
    op.create_table('forum_rules',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('first_post_points', sa.Float(), nullable=False),
    sa.Column('replies_needed', sa.Integer(), nullable=False),
    sa.Column('min_reply_chars', sa.Integer(), nullable=False),
    sa.Column('set_by', sa.String(length=36), nullable=False),
    sa.Column('set_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id')
    )
    op.create_table('forum_threads',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('topic_id', sa.String(length=36), nullable=False),
    sa.Column('run_school_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.String(length=36), nullable=False),
    sa.Column('author_name', sa.String(length=100), nullable=False),
    sa.Column('author_is_team', sa.Boolean(), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('last_activity_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('answer_due_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('answer_working_days', sa.Integer(), nullable=False),
    sa.Column('first_response_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('first_response_by', sa.String(length=36), nullable=False),
    sa.Column('escalation', sa.Integer(), nullable=False),
    sa.Column('endorsed_post_id', sa.String(length=36), nullable=False),
    sa.Column('hidden_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_threads', schema=None) as batch_op:
        batch_op.create_index('ix_forum_threads_run_activity', ['run_id', 'last_activity_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_forum_threads_topic_id'), ['topic_id'], unique=False)
        batch_op.create_index('ix_forum_threads_unanswered', ['run_id', 'kind', 'first_response_at'], unique=False)
    op.create_table('forum_topics',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('node_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forum_topics', schema=None) as batch_op:
        batch_op.create_index('ix_forum_topics_run', ['run_id', 'position'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('forum_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_topics_run')
    op.drop_table('forum_topics')
    with op.batch_alter_table('forum_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_threads_unanswered')
        batch_op.drop_index(batch_op.f('ix_forum_threads_topic_id'))
        batch_op.drop_index('ix_forum_threads_run_activity')
    op.drop_table('forum_threads')
    op.drop_table('forum_rules')
    with op.batch_alter_table('forum_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_reports_run_open')
    op.drop_table('forum_reports')
    op.drop_table('forum_reads')
    with op.batch_alter_table('forum_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_posts_thread')
        batch_op.drop_index('ix_forum_posts_run_author')
    op.drop_table('forum_posts')
    op.drop_table('forum_blocked_words')
    with op.batch_alter_table('forum_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_forum_audit_run')
    op.drop_table('forum_audit')
