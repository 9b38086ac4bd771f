"""trust: submissions kept apart until their link is used, opaque link tokens, ids
never reused on SQLite, packet builds whose files were removed

Links mailed before this revision (signed itsdangerous tokens) no longer work: they
named a row id, which is what let a stranger confirm for an address they do not hold.

Revision ID: 0006_trust
Revises: 0005_visits_packets
Create Date: 2026-12-01 20:28:34.211723

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006_trust"
down_revision = "0005_visits_packets"
branch_labels = None
depends_on = None


# Tables whose ids appear in links or files: on SQLite they get AUTOINCREMENT, so that an
# erased row's id is never given to a new one. PostgreSQL sequences never reuse ids.
AUTOINCREMENT_TABLES = ("signatures", "outbox_messages")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in AUTOINCREMENT_TABLES:
        # env.py turns foreign keys off on SQLite while migrating, so dropping the old
        # table in the rebuild does not cascade to the rows that reference it.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade():
    _rebuild(autoincrement=True)
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("affiliation", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("display", sa.String(length=10), nullable=False),
        sa.Column("name_in_letters", sa.Boolean(), nullable=False),
        sa.Column("updates", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("demand_ids", sa.String(length=2000), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "display IN ('full', 'initials', 'anonymous')",
            name=op.f("ck_submissions_display_valid"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'applied', 'merged')", name=op.f("ck_submissions_state_valid")
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_submissions_signature_id_signatures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submissions_signature_id"), ["signature_id"], unique=False
        )

    op.create_table(
        "link_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('confirm', 'erase', 'unsubscribe', 'my')",
            name=op.f("ck_link_tokens_purpose_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["signature_id"],
            ["signatures.id"],
            name=op.f("fk_link_tokens_signature_id_signatures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_link_tokens_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_link_tokens_digest")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_tokens_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_tokens_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_link_tokens_signature_id"), ["signature_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_link_tokens_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("packet_builds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_removed_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_token_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_link_token_id"), ["link_token_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_link_token_id_link_tokens"),
            "link_tokens",
            ["link_token_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_link_token_id_link_tokens"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_messages_link_token_id"))
        batch_op.drop_column("link_token_id")

    with op.batch_alter_table("packet_builds", schema=None) as batch_op:
        batch_op.drop_column("files_removed_at")

    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_tokens_submission_id"))
        batch_op.drop_index(batch_op.f("ix_link_tokens_signature_id"))
        batch_op.drop_index(batch_op.f("ix_link_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_link_tokens_email"))

    op.drop_table("link_tokens")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_signature_id"))

    op.drop_table("submissions")
    _rebuild(autoincrement=False)
