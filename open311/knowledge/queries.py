"""Reads of knowledge articles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from open311.errors import NotFound
from open311.knowledge import search
from open311.models import Article, ArticleService, Service

MAX_RESULTS = 20


@dataclass(frozen=True)
class ArticleSearch:
    """GET articles after validation at the edge: words to find, a service, or both."""

    words: tuple[str, ...] = ()
    service_code: str | None = None


def search_articles(session: Session, wanted: ArticleSearch) -> list[Article]:
    """The best articles for the words (most relevant first), or a service's articles."""
    if wanted.service_code is not None and session.get(Service, wanted.service_code) is None:
        raise NotFound(f"service_code: {wanted.service_code!r} is not a service.")
    if not wanted.words:
        return articles_for_service(session, wanted.service_code or "")
    ids = search.ranked_article_ids(session, list(wanted.words), wanted.service_code, MAX_RESULTS)
    found = {a.id: a for a in session.scalars(_with_services().where(Article.id.in_(ids)))}
    return [found[article_id] for article_id in ids]


def get_article(session: Session, slug: str) -> Article:
    article = session.scalar(_with_services().where(Article.slug == slug))
    if article is None:
        raise NotFound(f"article {slug!r} not found.")
    return article


def articles_for_service(session: Session, service_code: str) -> list[Article]:
    """The articles related to one service, by title."""
    related = sa.select(ArticleService.article_id).where(
        ArticleService.service_code == service_code
    )
    statement = _with_services().where(Article.id.in_(related)).order_by(Article.title)
    return list(session.scalars(statement))


class ArticleTitle(NamedTuple):
    slug: str
    title: str
    summary: str


def article_titles_for_service(session: Session, service_code: str) -> list[ArticleTitle]:
    """What a service form lists of its articles (slug, title, summary), by title: columns
    only, one query, where articles_for_service loads whole articles and their services."""
    statement = (
        sa.select(Article.slug, Article.title, Article.summary)
        .join(ArticleService, ArticleService.article_id == Article.id)
        .where(ArticleService.service_code == service_code)
        .order_by(Article.title)
    )
    return [ArticleTitle._make(row) for row in session.execute(statement)]


def _with_services() -> sa.Select[Article]:
    return sa.select(Article).options(selectinload(Article.services))


def all_articles(session: Session) -> list[Article]:
    """Every article, by title: the help page before anything is searched."""
    return list(session.scalars(_with_services().order_by(Article.title)))
