"""GeoReport v2 at /open311: thin views (load → call → commit → render)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from open311 import parameters, rate_limits, sandbox
from open311.accounts.keys import authenticate
from open311.catalog import queries as catalog_queries
from open311.database import SAFE_METHODS, read_without_a_transaction
from open311.edge.errors import install_error_handlers
from open311.errors import NotFound
from open311.extensions import db
from open311.formats import render
from open311.formats.w3c import format_w3c
from open311.georeport import media_views, payloads, schemas
from open311.georeport.errors import render_errors
from open311.georeport.openapi import for_sandbox, load_openapi
from open311.jurisdiction import Jurisdiction
from open311.knowledge import queries as knowledge_queries
from open311.media import queries as media_queries
from open311.models import ApiKey, Intake
from open311.models.base import utcnow
from open311.service_requests import actions, filters, queries, signals, submissions
from open311.workflow import actions as workflow_actions
from open311.workflow import feedback as workflow_feedback
from open311.workflow import partner_updates
from open311.workflow import queries as workflow_queries
from open311.workflow.transitions import Action

bp = Blueprint("georeport", __name__, url_prefix="/open311")
install_error_handlers(bp, render_errors)
bp.before_request(parameters.one_value_each)
FMT = "<any(json, xml):fmt>"
# FixMyStreet repeats media_url when it sends several photos (multi_photos); the first is kept.
PHOTOS = "media_url"


def jurisdiction() -> Jurisdiction:
    return current_app.extensions["open311.jurisdiction"]  # type: ignore[no-any-return]


def merged_params() -> MultiDict[str, str]:
    """Query and body together; where both have a key, the body wins (reference 4.11)."""
    return CombinedMultiDict([request.form, request.args])


def caller_key(session: Session) -> ApiKey:
    """The caller's live API key (403 otherwise); wrong keys and writes are rate limited."""
    with rate_limits.credential_attempt():
        api_key = authenticate(session, api_key_param(), sandbox=current_app.config["SANDBOX"])
    rate_limits.count_writes_of(f"key:{api_key.id}")
    return api_key


def api_key_param() -> str | None:
    """api_key from the body, the query, or an Authorization: Bearer header."""
    bearer = request.headers.get("Authorization", "")
    if bearer.lower().startswith("bearer "):
        return bearer[7:].strip()
    return merged_params().get("api_key", "").strip() or None


@bp.before_request
def _check_jurisdiction() -> None:
    """One jurisdiction: jurisdiction_id is optional, but must be ours when sent."""
    given = merged_params().get("jurisdiction_id", "").strip()
    if given and given != jurisdiction().jurisdiction_id:
        raise NotFound(f"jurisdiction_id must be {jurisdiction().jurisdiction_id}, not {given!r}.")


@bp.before_request
def _read_without_a_transaction() -> None:
    """GeoReport's GETs only read: no BEGIN and ROLLBACK round trips for them."""
    if request.method in SAFE_METHODS:
        read_without_a_transaction(db.session())


@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str) -> Response:
    changed = catalog_queries.last_changed(db.session()) or utcnow()
    changeset = format_w3c(changed, jurisdiction().time_zone)
    return render.document(
        "discovery", payloads.discovery(current_app.config, changeset, public_base_url()), fmt
    )


@bp.get(f"/v2/services.{FMT}")
def list_services(fmt: str) -> Response:
    services = catalog_queries.active_services(db.session())
    return render.document("services", [payloads.service(s) for s in services], fmt)


@bp.get(f"/v2/services/<service_code>.{FMT}")
@bp.get(f"/v2/service/<service_code>.{FMT}")
def service_definition(service_code: str, fmt: str) -> Response:
    extensions = filters.extensions_flag(request.args)
    service = catalog_queries.active_service(db.session(), service_code)
    articles = None
    if extensions:  # our extension: the articles an app can show before the form
        related = knowledge_queries.articles_for_service(db.session(), service.code)
        articles = [payloads.article_link(a, _article_url(a.slug, fmt)) for a in related]
    return render.document(
        "service_definition", payloads.service_definition(service, articles), fmt
    )


@bp.get(f"/v2/articles.{FMT}")
def search_articles(fmt: str) -> Response:
    found = knowledge_queries.search_articles(db.session(), schemas.article_search(request.args))
    time_zone = jurisdiction().time_zone
    summaries = [payloads.article_summary(a, _article_url(a.slug, fmt), time_zone) for a in found]
    return render.document("articles", summaries, fmt)


@bp.get(f"/v2/articles/<article_id>.{FMT}")
def get_article(article_id: str, fmt: str) -> Response:
    found = knowledge_queries.get_article(db.session(), article_id)
    url = _article_url(found.slug, fmt)
    return render.document(
        "articles", [payloads.article(found, url, jurisdiction().time_zone)], fmt
    )


def _article_url(slug: str, fmt: str) -> str:
    return f"{public_base_url()}{sandbox.api_root(current_app.config)}/v2/articles/{slug}.{fmt}"


def public_base_url() -> str:
    """PUBLIC_BASE_URL, else the root the caller reached (as a proxy fix, if any, sees it)."""
    base: str = current_app.config["PUBLIC_BASE_URL"] or request.url_root
    return base.rstrip("/")


@bp.post(f"/v2/requests.{FMT}")
@parameters.repeatable(PHOTOS)
def create_request(fmt: str) -> Response:
    params = merged_params()
    session = db.session()
    api_key = caller_key(session)
    filed = actions.submit_request(
        session,
        submissions.submission(params, media_views.posted_photos()),
        jurisdiction=jurisdiction(),
        api_key=api_key,
        replay_window=timedelta(seconds=current_app.config["REPLAY_WINDOW_SECONDS"]),
        idempotency_key=request.headers.get("Idempotency-Key") or None,
        media=media_views.destination(),
    )
    # Built before the commit, which expires the objects and would reload them.
    reply = payloads.post_reply(filed.service_request, filed.service)
    db.session.commit()
    if not filed.replayed:
        # The sandbox's filings are counted apart from production's.
        signals.request_filed.send("sandbox" if current_app.config["SANDBOX"] else "georeport")
    return render.document("service_requests", [reply], fmt)


@bp.get(f"/v2/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> Response:
    filed = queries.find_by_token(db.session(), token)
    reply = payloads.token(filed, accepted=filed.intake is Intake.ACCEPTED)
    return render.document("service_requests", [reply], fmt)


@bp.get(f"/v2/requests.{FMT}")
def list_requests(fmt: str) -> Response:
    where = filters.request_filter(
        request.args, jurisdiction().time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"]
    )
    rows = queries.search_requests(db.session(), where)
    return render.document("service_requests", _requests_payload(rows, where.extensions), fmt)


@bp.get(f"/v2/requests/<service_request_id>.{FMT}")
@bp.get(f"/v2/request/<service_request_id>.{FMT}")
def get_request(service_request_id: str, fmt: str) -> Response:
    extensions = filters.extensions_flag(request.args)
    row = queries.get_request(db.session(), service_request_id)
    return render.document("service_requests", _requests_payload([row], extensions), fmt)


def _requests_payload(rows: list[queries.PublicRequest], extensions: bool) -> list[dict[str, Any]]:
    time_zone = jurisdiction().time_zone
    public = payloads.service_requests(rows, time_zone)
    if not extensions:
        return public
    numbers = [row.number for row in rows]
    extras = queries.extras_for(db.session(), numbers)
    history = workflow_queries.public_notes(db.session(), numbers)
    photos = media_queries.visible_photos(db.session(), numbers)
    served_from = media_views.destination()
    return [
        {
            **payloads.extended(item, row, extras[row.number], history[row.number], time_zone),
            "photos": payloads.photos(photos.get(row.number, []), served_from.url),
        }
        for item, row in zip(public, rows, strict=True)
    ]


@bp.post(f"/v2/requests/<service_request_id>/answer.{FMT}")
def answer_question(service_request_id: str, fmt: str) -> Response:
    """The reporter answers the department's question, through the key that filed the request."""
    session = db.session()
    api_key = caller_key(session)
    step = workflow_actions.Step(
        action=Action.ANSWER, internal_note=schemas.reporter_answer(merged_params())
    )
    workflow_actions.perform(
        session,
        service_request_id,
        step,
        workflow_actions.Actor.reporter(api_key),
        time_zone=jurisdiction().time_zone,
    )
    row = queries.get_request(session, service_request_id)
    session.commit()
    return render.document("service_requests", _requests_payload([row], extensions=False), fmt)


@bp.post(f"/v2/requests/<service_request_id>/feedback.{FMT}")
def give_feedback(service_request_id: str, fmt: str) -> Response:
    """The reporter rates a completed request, through the key that filed it."""
    session = db.session()
    api_key = caller_key(session)
    rating, comment = workflow_feedback.feedback_form(merged_params())
    reopen_within = timedelta(days=current_app.config["FEEDBACK_REOPEN_DAYS"])
    workflow_feedback.give_feedback(
        session,
        service_request_id,
        rating,
        comment,
        api_key,
        reopen_within,
        utcnow(),
        jurisdiction().time_zone,
    )
    row = queries.get_request(session, service_request_id)
    session.commit()
    return render.document("service_requests", _requests_payload([row], extensions=False), fmt)


@bp.get(f"/v2/servicerequestupdates.{FMT}")
def list_updates(fmt: str) -> Response:
    """FixMyStreet's poll: public updates in a window, the caller's own left out."""
    session = db.session()
    api_key = caller_key(session)
    time_zone = jurisdiction().time_zone
    window = schemas.update_window(
        request.args, time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"]
    )
    found = workflow_queries.public_updates(
        session, window.start, window.end, api_key.id, window.page, window.page_size
    )
    return render.document(
        "service_request_updates", [payloads.request_update(u, time_zone) for u in found], fmt
    )


@bp.post(f"/v2/servicerequestupdates.{FMT}")
@parameters.repeatable(PHOTOS)
def receive_update(fmt: str) -> Response:
    """FixMyStreet posts an update to a request it filed; a replay gets the same update_id."""
    session = db.session()
    api_key = caller_key(session)
    update = schemas.incoming_update(merged_params(), jurisdiction().time_zone)
    received = partner_updates.receive_update(
        session, api_key, update, utcnow(), jurisdiction().time_zone
    )
    reply = [{"update_id": str(received.event_id)}]
    session.commit()
    return render.document("service_request_updates", reply, fmt)


@bp.get("/v2/openapi.<any(json):fmt>")
def openapi(fmt: str) -> Response:
    document = load_openapi(Path(current_app.config["SCHEMAS_DIR"]))
    if current_app.config["SANDBOX"]:
        document = for_sandbox(document, sandbox.PREFIX)
    return jsonify(document)
