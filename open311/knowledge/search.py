"""Full-text search over articles: the only module that knows the two backends differ here.

PostgreSQL ranks with ts_rank over `article.search_vector` (generated column,
GIN index, 'english' configuration: stemming and stop words); SQLite ranks
with FTS5's bm25 over `article_search` (porter stemmer). Both index the same
four columns with the same order of weights: title, then keywords, then the
summary, then the body. Migration 0004 creates both indexes.

A resident's words are never passed as query syntax: the text is cut into
words (letters and digits), and each word is matched as a plain term, so
quotes, `*`, `-`, `OR`, `NEAR(` or a stray `:` cannot cause a syntax error.
An article matches when it holds any of the words (OR); ranking puts the
ones that hold more of them, in heavier columns, first. Each pair of
neighbouring words is also sought as a phrase, which lifts the article that
says "street light" above the ones that say "street" here and "light" there:
on a small collection a common word ("street", "alley") is worth almost
nothing to bm25, so the pair is what tells the articles apart.
"""

from __future__ import annotations

import itertools
import re
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

MAX_QUERY_LENGTH: Final = 200  # characters of a search, on the API and the site

# Letters and digits of any script; everything else separates words.
_WORD: Final = re.compile(r"[^\W_]+")
MAX_WORDS: Final = 32

# Column weights, heaviest first: title, keywords, summary, body.
SQLITE_WEIGHTS: Final = (10.0, 5.0, 2.0, 1.0)  # bm25(): larger counts more
_SQLITE_SEARCH: Final = sa.text(
    f"""
    SELECT rowid FROM article_search
    WHERE article_search MATCH :query
      AND (:service_code IS NULL OR rowid IN (
          SELECT article_id FROM article_service WHERE service_code = :service_code))
    ORDER BY bm25(article_search, {", ".join(map(str, SQLITE_WEIGHTS))}), rowid
    LIMIT :limit
    """
)
# ts_rank's default weights are {D 0.1, C 0.2, B 0.4, A 1.0}: title A … body D.
_POSTGRESQL_SEARCH: Final = sa.text(
    """
    SELECT article.id FROM article, to_tsquery('english', :query) AS query
    WHERE article.search_vector @@ query
      AND (CAST(:service_code AS text) IS NULL OR article.id IN (
          SELECT article_id FROM article_service WHERE service_code = :service_code))
    ORDER BY ts_rank(article.search_vector, query) DESC, article.id
    LIMIT :limit
    """
)


def words(text: str) -> list[str]:
    """The distinct words of a resident's text, lower-cased, in order."""
    found = dict.fromkeys(word.lower() for word in _WORD.findall(text))
    return list(found)[:MAX_WORDS]


def ranked_article_ids(
    session: Session, terms: list[str], service_code: str | None, limit: int
) -> list[int]:
    """Ids of the articles matching any of terms, most relevant first."""
    if not terms:
        return []
    pairs = list(itertools.pairwise(terms))
    if session.get_bind().dialect.name == "postgresql":
        # Words are letters and digits only, so they cannot be tsquery syntax;
        # to_tsquery drops stop words, alone or inside a pair.
        alternatives = [*terms, *(f"({first} <-> {second})" for first, second in pairs)]
        statement, query = _POSTGRESQL_SEARCH, " | ".join(alternatives)
    else:
        alternatives = [*terms, *(f"{first} {second}" for first, second in pairs)]
        statement, query = _SQLITE_SEARCH, " OR ".join(f'"{phrase}"' for phrase in alternatives)
    parameters = {"query": query, "service_code": service_code, "limit": limit}
    return list(session.scalars(statement, parameters))
