"""Knowledge articles: what the city does about a problem, and when to call 911 instead.

Articles are data, written as files in `services_catalog/<city>/articles/` and
loaded by `flask open311 load-articles`. Their full-text index is not part of
these models: it differs by backend (a generated tsvector column with a GIN
index on PostgreSQL, an FTS5 table kept in step by triggers on SQLite), so
migration 0004 creates it and `open311/knowledge/search.py` queries it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from open311.models.base import Base, intpk, utcnow


class Article(Base):
    """One article; `slug` (its file name) is the id the API publishes."""

    __tablename__ = "article"

    # An integer key because FTS5 indexes rows by rowid; never shown outside.
    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown, sanitised when rendered
    # Joined by "," (no keyword holds one), so both full-text indexes read them as words.
    keywords: Mapped[str] = mapped_column(sa.Text, default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    services: Mapped[list[ArticleService]] = relationship(
        cascade="all, delete-orphan", order_by="ArticleService.service_code"
    )

    @property
    def service_codes(self) -> list[str]:
        return [link.service_code for link in self.services]

    @property
    def keyword_list(self) -> list[str]:
        return self.keywords.split(",") if self.keywords else []


class ArticleService(Base):
    """An article relates to a service: it appears with that service's definition."""

    __tablename__ = "article_service"

    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
    )
    service_code: Mapped[str] = mapped_column(
        sa.ForeignKey("service.code"), primary_key=True, index=True
    )
