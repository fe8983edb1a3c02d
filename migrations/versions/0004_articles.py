"""articles: knowledge articles, the services they relate to, and their full-text index

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-27 10:00:00

The full-text index differs by backend and is not in the models
(tests/test_migrations.py leaves it out of the comparison):

- PostgreSQL: `article.search_vector`, a generated tsvector column (title A,
  keywords B, summary C, body D, 'english' configuration), with a GIN index.
  The database computes it on every write, so no code has to remember to.
- SQLite: `article_search`, an FTS5 table with the porter stemmer over
  `article`'s own columns (external content: the text is stored once), kept
  in step by three triggers. Triggers rather than explicit maintenance in the
  loader, because every writer (the loader, a future staff screen, an SQL
  console) then keeps the index right, in the writer's own transaction.

The names are the ones open311/knowledge/search.py queries.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

POSTGRESQL_UP = (
    """
    ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', replace(keywords, ',', ' ')), 'B')
        || setweight(to_tsvector('english', summary), 'C')
        || setweight(to_tsvector('english', body), 'D')
    ) STORED
    """,
    "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
)
SQLITE_COLUMNS = "title, keywords, summary, body"
SQLITE_NEW = "new.title, new.keywords, new.summary, new.body"
SQLITE_OLD = "old.title, old.keywords, old.summary, old.body"
SQLITE_UP = (
    f"""
    CREATE VIRTUAL TABLE article_search USING fts5(
        {SQLITE_COLUMNS},
        content='article', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    f"""
    CREATE TRIGGER article_search_insert AFTER INSERT ON article BEGIN
        INSERT INTO article_search(rowid, {SQLITE_COLUMNS}) VALUES (new.id, {SQLITE_NEW});
    END
    """,
    f"""
    CREATE TRIGGER article_search_delete AFTER DELETE ON article BEGIN
        INSERT INTO article_search(article_search, rowid, {SQLITE_COLUMNS})
        VALUES ('delete', old.id, {SQLITE_OLD});
    END
    """,
    f"""
    CREATE TRIGGER article_search_update AFTER UPDATE ON article BEGIN
        INSERT INTO article_search(article_search, rowid, {SQLITE_COLUMNS})
        VALUES ('delete', old.id, {SQLITE_OLD});
        INSERT INTO article_search(rowid, {SQLITE_COLUMNS}) VALUES (new.id, {SQLITE_NEW});
    END
    """,
)


def upgrade() -> None:
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
        sa.UniqueConstraint("slug", name=op.f("uq_article_slug")),
    )
    op.create_table(
        "article_service",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
            name=op.f("fk_article_service_article_id_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["service.code"],
            name=op.f("fk_article_service_service_code_service"),
        ),
        sa.PrimaryKeyConstraint("article_id", "service_code", name=op.f("pk_article_service")),
    )
    op.create_index(
        op.f("ix_article_service_service_code"), "article_service", ["service_code"], unique=False
    )
    statements = POSTGRESQL_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER article_search_{trigger}")
        op.execute("DROP TABLE article_search")
    op.drop_index(op.f("ix_article_service_service_code"), table_name="article_service")
    op.drop_table("article_service")
    op.drop_table("article")
