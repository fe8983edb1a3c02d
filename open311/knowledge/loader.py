"""services_catalog/<city>/articles/*.md → validated articles → upserted Article rows.

A file is TOML front matter between two `+++` lines, then the Markdown body:

    +++
    title = "Rats in the alley or yard"
    summary = "How the City baits for rats, and what to put in a report."
    services = ["SGA"]
    keywords = ["rodent", "mice"]
    +++
    Streets and Sanitation …

The file name without `.md` is the article's id in the API (its slug).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import sqlalchemy as sa
from sqlalchemy.orm import Session

from open311.models import Article, ArticleService, Service
from open311.models.base import utcnow

SCHEMA_FILE = Path("knowledge") / "article.schema.json"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 100
FENCE = "+++"


class ArticleError(ValueError):
    """An article file is invalid; the message names the file, the field and the problem."""


@dataclass(frozen=True)
class ArticleFile:
    """One validated article file."""

    path: Path
    slug: str
    title: str
    summary: str
    services: tuple[str, ...]
    keywords: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class LoadReport:
    added: int
    changed: int
    unchanged: int
    removed: int


def read_articles(directory: Path, schemas_dir: Path) -> list[ArticleFile]:
    """Parse and validate every `*.md` file in directory; ArticleError on a bad one."""
    schema = json.loads((schemas_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    paths = sorted(directory.glob("*.md"))
    if not paths:
        raise ArticleError(f"{directory}: no *.md article files found")
    return [_read_file(path, validator) for path in paths]


def load_articles(session: Session, articles: Sequence[ArticleFile]) -> LoadReport:
    """Upsert the articles by slug; delete those whose file is gone (idempotent)."""
    _check_services(session, articles)
    existing = {a.slug: a for a in session.scalars(sa.select(Article))}
    added = changed = 0
    for entry in articles:
        article = existing.pop(entry.slug, None)
        if article is None:
            article = Article(slug=entry.slug)
            session.add(article)
            added += 1
        elif _same(article, entry):
            continue
        else:
            changed += 1
        _copy(entry, article)
    for gone in existing.values():
        session.delete(gone)  # nothing refers to an article, so it can go
    session.flush()
    return LoadReport(added, changed, len(articles) - added - changed, len(existing))


def _read_file(path: Path, validator: jsonschema.protocols.Validator) -> ArticleFile:
    slug = path.stem
    if not SLUG.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        raise ArticleError(
            f"{path}: file name: {slug!r} is not lower-case words joined by '-' "
            f"(at most {MAX_SLUG_LENGTH} characters); it becomes the article's id"
        )
    front, body = _split(path)
    problems = sorted(validator.iter_errors(front), key=lambda e: list(map(str, e.absolute_path)))
    if problems:
        raise ArticleError("\n".join(f"{path}: {_where(p)}: {p.message}" for p in problems))
    return ArticleFile(
        path=path,
        slug=slug,
        title=front["title"],
        summary=front["summary"],
        services=tuple(front["services"]),
        keywords=tuple(front["keywords"]),
        body=body,
    )


def _split(path: Path) -> tuple[dict[str, Any], str]:
    """The front matter (parsed) and the Markdown body of one file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ArticleError(f"{path}: not UTF-8 text: {error}") from error
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE or FENCE not in (x.strip() for x in lines[1:]):
        raise ArticleError(f"{path}: front matter: the file must start with TOML between +++ lines")
    end = 1 + [x.strip() for x in lines[1:]].index(FENCE)
    try:
        front = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as error:
        raise ArticleError(f"{path}: front matter: not valid TOML: {error}") from error
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise ArticleError(f"{path}: body: the Markdown after the front matter is empty")
    return front, body + "\n"


def _where(problem: jsonschema.ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem.absolute_path]
    return "".join(parts).lstrip(".") or "(front matter)"


def _check_services(session: Session, articles: Sequence[ArticleFile]) -> None:
    """Every service an article names must be in the catalogue (load-catalog first)."""
    known = set(session.scalars(sa.select(Service.code)))
    for entry in articles:
        for index, code in enumerate(entry.services):
            if code not in known:
                raise ArticleError(
                    f"{entry.path}: services[{index}]: {code!r} is not a service in the "
                    "catalogue (run load-catalog first, or fix the code)"
                )


def _same(article: Article, entry: ArticleFile) -> bool:
    return (
        article.title == entry.title
        and article.summary == entry.summary
        and article.body == entry.body
        and article.keywords == ",".join(entry.keywords)
        and article.service_codes == sorted(entry.services)
    )


def _copy(entry: ArticleFile, article: Article) -> None:
    article.title, article.summary, article.body = entry.title, entry.summary, entry.body
    article.keywords = ",".join(entry.keywords)
    wanted = set(entry.services)
    article.services = [link for link in article.services if link.service_code in wanted]
    present = set(article.service_codes)
    article.services.extend(ArticleService(service_code=code) for code in sorted(wanted - present))
    article.services.sort(key=lambda link: link.service_code)
    article.changed_at = utcnow()
