"""intake: the signing request stores a received submission, the confirming request marks
it pressed; the worker does the rest

Revision ID: 0009_intake
Revises: 0008_tallies
Create Date: 2026-12-02 01:20:00

A submission now carries its campaign and, until the worker has found or created the
signature for it, the address; its signature is unknown until then.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009_intake"
down_revision = "0008_tallies"
branch_labels = None
depends_on = None

NEW_STATES = "state IN ('received', 'pending', 'pressed', 'applied', 'merged')"
OLD_STATES = "state IN ('pending', 'applied', 'merged')"


def upgrade():
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("email", sa.String(length=254), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE submissions SET campaign_id = "
        "(SELECT campaign_id FROM signatures WHERE signatures.id = submissions.signature_id)"
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("signature_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("email", server_default=None)
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_campaign_id_campaigns"), "campaigns",
            ["campaign_id"], ["id"], ondelete="CASCADE",
        )
        batch_op.drop_constraint(batch_op.f("ck_submissions_state_valid"), type_="check")
        batch_op.create_check_constraint("state_valid", NEW_STATES)
        batch_op.create_index("ix_submissions_state", ["state", "id"], unique=False)


def downgrade():
    # Received submissions have no signature yet: the worker must have taken them all.
    op.execute("DELETE FROM submissions WHERE state = 'received'")
    op.execute("UPDATE submissions SET state = 'pending' WHERE state = 'pressed'")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_state")
        batch_op.drop_constraint(batch_op.f("ck_submissions_state_valid"), type_="check")
        batch_op.create_check_constraint("state_valid", OLD_STATES)
        batch_op.drop_constraint(
            batch_op.f("fk_submissions_campaign_id_campaigns"), type_="foreignkey"
        )
        batch_op.alter_column("signature_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("email")
        batch_op.drop_column("campaign_id")
