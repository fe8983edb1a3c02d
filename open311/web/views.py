"""The resident site's pages: thin views (load → call → commit → render).

Filing goes through the same domain action as POST requests, with the site's
own key (accounts.keys.site_key) and channel `web`; feedback and following go
through the same actions as the API's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from open311 import spatial
from open311.accounts.keys import site_key
from open311.areas.queries import area_names, areas_as_features
from open311.catalog import queries as catalog_queries
from open311.errors import Conflict, InvalidRequest, NotFound, Open311Error
from open311.extensions import db
from open311.jurisdiction import Jurisdiction
from open311.knowledge import queries as knowledge_queries
from open311.knowledge import search
from open311.knowledge.queries import ArticleSearch
from open311.media import actions as media_actions
from open311.media import queries as media_queries
from open311.media import uploads as media_uploads
from open311.models import Service
from open311.models.base import utcnow
from open311.notifications import confirmation, followers, subscriptions
from open311.notifications.subscriptions import LinkKeys, Scope
from open311.pages import csrf, service_form
from open311.service_requests import actions, filters, queries, signals
from open311.web import errors, forms, i18n, layout, pages
from open311.web.i18n import _
from open311.workflow import feedback as workflow_feedback
from open311.workflow import queries as workflow_queries
from open311.workflow import questions

bp = Blueprint("web", __name__)  # templates in open311/templates/web/, the app's folder
errors.install(bp)  # HTML error pages for the site's routes only
MOST_USED = 6
FILED_KEPT = 20  # request numbers this browser filed, remembered for feedback


def jurisdiction() -> Jurisdiction:
    return current_app.extensions["open311.jurisdiction"]  # type: ignore[no-any-return]


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST":
        csrf.check()


bp.context_processor(layout.page_context)


@bp.get("/")
def home() -> str:
    text = request.args.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    words = search.words(text)
    session_ = db.session()
    translated = {code: text.name for code, text in i18n.service_texts().items() if text.name}
    found_services = catalog_queries.matching_services(
        catalog_queries.active_services(session_), words, translated
    )
    found_articles = (
        knowledge_queries.search_articles(session_, ArticleSearch(words=tuple(words)))
        if words
        else []
    )
    return render_template(
        "web/home.html",
        q=text,
        searched=bool(words),
        services=[pages.service_card(s) for s in found_services[:20]],
        articles=[pages.article_summary(a) for a in found_articles[:5]],
        most_used=[
            pages.service_card(s) for s in catalog_queries.most_requested(session_, MOST_USED)
        ],
    )


@bp.get("/services")
def all_services() -> str:
    services = catalog_queries.active_services(db.session())
    return render_template("web/services.html", services=[pages.service_card(s) for s in services])


@bp.get("/services/<service_code>")
def service_page(service_code: str) -> tuple[str, int]:
    return _service_form(service_code, {}, {})


def _service_form(
    service_code: str, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    service = catalog_queries.active_service(db.session(), service_code)
    articles = knowledge_queries.article_titles_for_service(db.session(), service.code)
    # Named before the first POST, so a report sent again after a lost reply (or by the
    # page and the service worker at once) has the same content as the first copy.
    csrf.browser_id()
    page = render_template(
        "web/service.html",
        service=pages.service_card(service),
        questions=service_form.questions(service) if values or errors else None,
        blank=None if values or errors else service_form.blank_fields(service),
        notes=service_form.notes(service),
        articles=[pages.article_summary(a) for a in articles],
        values=values,
        errors=errors,
        tiles=_tiles(),
    )
    return page, status


def _tiles() -> dict[str, str]:
    config = current_app.config
    return {"url": config["MAP_TILES_URL"], "attribution": config["MAP_TILES_ATTRIBUTION"]}


@bp.post("/services/<service_code>")
def file_request(service_code: str) -> tuple[str, int] | BaseResponse:
    session_ = db.session()
    service = catalog_queries.active_service(session_, service_code)
    params = forms.params_of(service.code, request.form, csrf.browser_id())
    checked = forms.check(service, params, jurisdiction().time_zone)
    if checked.submission is None:
        return _refused(service, checked.errors)
    try:
        photos = media_uploads.posted_photos(session_, request.files, current_app.config)
        filed = actions.submit_request(
            session_,
            replace(checked.submission, photos=photos),
            jurisdiction=jurisdiction(),
            api_key=site_key(session_),
            replay_window=timedelta(seconds=current_app.config["REPLAY_WINDOW_SECONDS"]),
            channel="web",
            media=media_actions.destination(current_app, request.host_url),
            idempotency_key=forms.idempotency_key(
                request.headers.get("Idempotency-Key"), request.form
            ),
        )
    except Conflict:
        session_.rollback()
        raise Conflict(
            _("This report was already sent with different details, so it was not sent again.")
        ) from None
    except InvalidRequest as error:
        session_.rollback()
        questions = i18n.attributes_in_language(service.code, service.attributes)
        return _refused(service, forms.errors_of(error.descriptions, questions))
    number = filed.service_request.number
    if not filed.replayed and i18n.language() != i18n.DEFAULT_LANGUAGE:
        # The filer's emails about it, in the language they filed in.
        subscriptions.speak_to_filer(session_, filed.service_request.id, i18n.language())
    session_.commit()
    if not filed.replayed:
        signals.request_filed.send("web")
    session["filed"] = [number, *session.get("filed", [])][:FILED_KEPT]
    return redirect(url_for("web.done", number=number), 303)


def _refused(service: Service, errors: dict[str, str]) -> tuple[str, int]:
    """The form again with the problems beside their fields (chosen photos must be chosen again:
    a browser never refills a file input)."""
    ordered = forms.in_page_order(errors, service.attributes)
    return _service_form(service.code, request.form.to_dict(flat=False), ordered, 400)


@bp.get("/requests/<number>/done")
def done(number: str) -> str:
    session_ = db.session()
    if number not in session.get("filed", []):
        raise NotFound(f"No service request {number!r}.")
    try:
        row = queries.get_request(session_, number)
    except NotFound:  # filed, but waiting for the city's review: not public yet
        return render_template("web/done.html", number=number, item=None)
    extras = queries.extras_for(session_, [number])[number]
    photos = media_queries.visible_photos(session_, [number]).get(number, [])
    return render_template(
        "web/done.html",
        number=number,
        item=pages.request_page(row, extras, [], None, photos),
    )


@bp.get("/track")
def track() -> BaseResponse:
    number = request.args.get("number", "").strip().upper()
    if not number:
        flash(_("Enter the number of your request, such as SR26-00012345."), "error")
        return redirect(url_for("web.home") + "#track")
    return redirect(url_for("web.track_request", number=number), 303)


@bp.get("/requests/<number>")
def track_request(number: str) -> str:
    session_ = db.session()
    row = queries.get_request(session_, number)
    extras = queries.extras_for(session_, [number])[number]
    notes = workflow_queries.public_notes(session_, [number])[number]
    reason = queries.close_reason_of(session_, number)
    photos = media_queries.visible_photos(session_, [number]).get(number, [])
    return render_template(
        "web/track.html",
        item=pages.request_page(row, extras, notes, reason, photos),
        filed_here=number in session.get("filed", []),
    )


@bp.post("/requests/<number>/follow")
def follow(number: str) -> BaseResponse:
    session_ = db.session()
    rules = confirmation.Rules.from_config(current_app.config)
    try:
        follower = followers.follower(MultiDict({"email": request.form.get("email", "")}))
        scope = Scope(service_request_id=number)
        confirmation.subscribe(
            session_, scope, follower, site_key(session_), jurisdiction(), rules, i18n.language()
        )
    except Open311Error as error:
        return _back_with_problems(number, error, "follow")
    session_.commit()
    flash(_("Check your email: follow the link we sent to start getting updates."), "success")
    return redirect(url_for("web.track_request", number=number) + "#follow", 303)


def _back_with_problems(number: str, error: Open311Error, anchor: str) -> BaseResponse:
    """PRG for the small forms of the track page: the API's words, then the page again."""
    db.session.rollback()
    for description in error.descriptions:
        flash(description, "error")
    return redirect(url_for("web.track_request", number=number) + f"#{anchor}", 303)


@bp.post("/requests/<number>/feedback")
def give_feedback(number: str) -> BaseResponse:
    if number not in session.get("filed", []):
        raise NotFound(f"No service request {number!r} was filed from this browser.")
    session_ = db.session()
    reopen_within = timedelta(days=current_app.config["FEEDBACK_REOPEN_DAYS"])
    try:
        rating, comment = workflow_feedback.feedback_form(request.form)
        workflow_feedback.give_feedback(
            session_, number, rating, comment, site_key(session_), reopen_within, utcnow(),
            jurisdiction().time_zone,
        )  # fmt: skip
    except Open311Error as error:
        return _back_with_problems(number, error, "feedback")
    session_.commit()
    flash(_("Thank you: your rating was received."), "success")
    return redirect(url_for("web.track_request", number=number), 303)


@bp.get("/answer/<token>")
def answer_question(token: str) -> str:
    """The page the department's emailed question links to: the question and a form."""
    return _answer_form(token, "", {}, 200)[0]


def _answer_form(token: str, answer: str, errors: dict[str, str], status: int) -> tuple[str, int]:
    question = questions.open_question(
        db.session(), LinkKeys.from_config(current_app.config), token, _answer_window(), utcnow()
    )
    page = render_template(
        "web/answer.html",
        question=question,
        asked=pages.when(question.asked_at),
        answer=answer,
        errors=errors,
    )
    return page, status


def _answer_window() -> timedelta:
    return timedelta(days=current_app.config["QUESTION_LINK_VALID_DAYS"])


@bp.post("/answer/<token>")
def send_answer(token: str) -> BaseResponse | tuple[str, int]:
    """Record the answer (the staff API's ANSWER action), then the request's page."""
    session_ = db.session()
    text = request.form.get("answer", "")
    try:
        answered = questions.answer(
            session_, LinkKeys.from_config(current_app.config), token, text,
            valid_for=_answer_window(), time_zone=jurisdiction().time_zone, now=utcnow(),
        )  # fmt: skip
    except InvalidRequest:
        session_.rollback()
        problem = _(
            "Write your answer, at most %(count)d characters.", count=questions.ANSWER_LENGTH
        )
        return _answer_form(token, text[: questions.ANSWER_LENGTH], {"answer": problem}, 400)
    number = answered.number
    session_.commit()
    flash(_("Thank you: your answer was sent to the department."), "success")
    return redirect(url_for("web.track_request", number=number), 303)


@bp.get("/near")
def near_me() -> tuple[str, int]:
    """Requests around an address or in a community area, with GET requests' filters."""
    session_ = db.session()
    query, errors = forms.near_query(request.args, jurisdiction().geocoder)
    rows: list[queries.PublicRequest] = []
    searched = any(key in query for key in forms.NEAR_CHOICES)
    if searched and not errors:
        try:
            where = filters.request_filter(
                query, jurisdiction().time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"]
            )
            rows = queries.search_requests(session_, where)
        except InvalidRequest as error:
            errors = {forms.FORM: " ".join(error.descriptions)}
    page = int(query.get("page", "1")) if query.get("page", "").isdigit() else 1
    results = [pages.request_summary(row) for row in rows]
    points = [
        {
            "lat": item["lat"],
            "long": item["long"],
            "label": f"{item['service_name']} {item['number']}",
            "url": url_for("web.track_request", number=item["number"]),
        }
        for item in results
    ]
    return render_template(
        "web/near.html",
        args=request.args,
        errors=errors,
        searched=searched,
        results=results,
        points=points,
        tiles=_tiles(),
        page=page,
        more=len(rows) == int(forms.NEAR_PAGE_SIZE),
        services=[pages.service_card(s) for s in catalog_queries.active_services(session_)],
        areas=area_names(session_, "community_area"),
        wards=sorted(area_names(session_, "ward"), key=lambda area: pages.ward_order(area[0])),
        # a search around a pin keeps it for the next choices (an address or area wins)
        pin=(query["lat"], query["long"])
        if "lat" in query and not request.args.get("address", "").strip()
        else None,
    ), 400 if errors else 200


MAX_MAP_ZOOM = 22


@bp.get("/near/clusters.json")
def near_clusters() -> Response:
    """The near-me page's requests in the map's view (bbox and zoom), clustered into cells:
    every page of them, with the page's filters (the same reading as GET requests)."""
    query, errors = forms.near_query(request.args, jurisdiction().geocoder)
    if errors:
        raise InvalidRequest(*errors.values())
    zoom = request.args.get("zoom", "")
    if not filters.WHOLE_NUMBER.fullmatch(zoom) or int(zoom) > MAX_MAP_ZOOM:
        raise InvalidRequest(f"zoom: a whole number from 0 to {MAX_MAP_ZOOM} is required.")
    query["bbox"] = request.args.get("bbox", "")
    where = filters.request_filter(
        query, jurisdiction().time_zone, utcnow(), current_app.config["MAX_PAGE_SIZE"]
    )
    if where.box is None:
        raise InvalidRequest(
            "bbox: the map's view (min_long,min_lat,max_long,max_lat) is required."
        )
    cells = queries.cluster_requests(
        db.session(), where, spatial.cluster_cell(where.box, int(zoom))
    )
    names = catalog_queries.service_names(db.session())
    return jsonify({"clusters": [pages.cluster_marker(cell, names) for cell in cells]})


@bp.get("/help")
def help_index() -> str:
    text = request.args.get("q", "").strip()[: search.MAX_QUERY_LENGTH]
    words = tuple(search.words(text))
    found = (
        knowledge_queries.search_articles(db.session(), ArticleSearch(words=words))
        if words
        else knowledge_queries.all_articles(db.session())
    )
    return render_template(
        "web/help.html",
        q=text,
        searched=bool(words),
        articles=[pages.article_summary(a) for a in found],
    )


@bp.get("/help/<slug>")
def help_article(slug: str) -> str:
    article = knowledge_queries.get_article(db.session(), slug)
    names = catalog_queries.service_names(db.session())
    return render_template("web/article.html", article=pages.article_page(article, names))


@bp.get("/language/<code>")
def choose_language(code: str) -> BaseResponse:
    """The language switch: a link, remembered in a cookie, back to the same page."""
    back = request.args.get("next", "")
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not back.startswith("/"):
        back = url_for("web.home")  # only our own pages: never an open redirect
    response = redirect(back, 303)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE,
            code,
            max_age=i18n.COOKIE_MAX_AGE,
            samesite="Lax",
            httponly=True,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.get("/map/city.geojson")
def city_map() -> Response:
    """The city's boundary and community areas, for the map (no tiles needed)."""
    boundary = jurisdiction().boundary.geometry
    features = [
        {"type": "Feature", "properties": {"kind": "city"}, "geometry": boundary.__geo_interface__},
        *areas_as_features(db.session(), "community_area"),
    ]
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/map/place.json")
def place_at() -> Response:
    """The address at a pin (reverse geocoding), and whether the pin is inside the city."""
    lon, lat = forms.coordinates(request.args)
    inside = jurisdiction().boundary.contains(lon, lat)
    address = jurisdiction().geocoder.reverse(lon, lat).address if inside else None
    return make_response(jsonify({"inside": inside, "address": address}))


SUGGESTIONS = 6  # what a phone's screen shows above its keyboard
SUGGESTION_PREFIX_LENGTH = 100


@bp.get("/map/addresses.json")
def address_suggestions() -> Response:
    """Addresses in the city starting with what was typed (`q`), for the address boxes."""
    typed = request.args.get("q", "")[:SUGGESTION_PREFIX_LENGTH]
    city = jurisdiction().boundary
    found = jurisdiction().geocoder.suggest(typed, SUGGESTIONS * 2)
    inside = [place for place in found if city.contains(place.lon, place.lat)][:SUGGESTIONS]
    return jsonify(
        {"addresses": [{"address": p.address, "lat": p.lat, "long": p.lon} for p in inside]}
    )
