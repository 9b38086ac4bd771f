"""packet small countries: whether a campaign's packets name countries with few supporters

Revision ID: 0012_packet_small_countries
Revises: 0011_letter_subjects
Create Date: 2026-12-02 18:10:00

Off, a packet lists the named supporters of a country with fewer than PUBLIC_COUNTRY_MIN
supporters of that demand under "Other countries". On (the default) it names every country.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_packet_small_countries"
down_revision = "0011_letter_subjects"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "packet_small_countries", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )


def downgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("packet_small_countries")
