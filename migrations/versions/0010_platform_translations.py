"""platform translations: which translated fields the platform wrote, not the organiser

Revision ID: 0010_platform_translations
Revises: 0009_intake
Create Date: 2026-12-02 16:30:00

The seed campaign ships Chinese translations made by the platform. The page says so (and
links to the original) while any field it shows is one of those; an organiser's edit of a
field takes it off the list.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_platform_translations"
down_revision = "0009_intake"
branch_labels = None
depends_on = None

TABLES = ("campaign_translations", "demand_translations")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "platform_fields", sa.String(length=200), nullable=False, server_default=""
                )
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("platform_fields")
