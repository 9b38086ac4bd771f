"""letter subjects: a visit's title in each letter's language, for its "Regarding:" line

Revision ID: 0011_letter_subjects
Revises: 0010_platform_translations
Create Date: 2026-12-02 16:45:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_letter_subjects"
down_revision = "0010_platform_translations"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visit_letters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("visit_letters", schema=None) as batch_op:
        batch_op.drop_column("subject")
