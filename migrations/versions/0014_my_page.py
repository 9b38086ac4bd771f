"""my page: each mail to a signer carries a second link, to their own page

Revision ID: 0014_my_page
Revises: 0013_bounces
Create Date: 2026-12-02 22:10:00

The link's token is made as the mail leaves, like the mail's own link; the message keeps
only the id of its reserved row.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_my_page"
down_revision = "0013_bounces"
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite this rebuilds the table, which must keep AUTOINCREMENT (see 0006).
    with op.batch_alter_table(
        "outbox_messages", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("page_token_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_page_token_id"), ["page_token_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_page_token_id_link_tokens"),
            "link_tokens", ["page_token_id"], ["id"], ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table(
        "outbox_messages", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_page_token_id_link_tokens"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_messages_page_token_id"))
        batch_op.drop_column("page_token_id")
