"""Knowledge articles: loading, full-text search on both backends, the API, sanitising."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from lxml import etree, html

from open311.catalog.loader import load_catalog, read_catalog
from open311.config import PROJECT_DIR
from open311.database import begin_write
from open311.extensions import db
from open311.formats.markdown import to_safe_html
from open311.knowledge.loader import ArticleError, load_articles, read_articles
from open311.models import Article

CHICAGO = PROJECT_DIR / "services_catalog" / "chicago"
ARTICLES = CHICAGO / "articles"
SCHEMAS = PROJECT_DIR / "schemas"


@pytest.fixture
def chicago(app: Flask) -> Flask:
    """The app with the real Chicago catalogue and the real articles loaded."""
    with app.app_context():
        session = db.session()
        begin_write(session)
        load_catalog(session, read_catalog(CHICAGO, SCHEMAS))
        load_articles(session, read_articles(ARTICLES, SCHEMAS))
        db.session.commit()
    return app


def first_ids(client, query: str, fmt: str = "json", **params: str) -> list[str]:
    response = client.get(f"/open311/v2/articles.{fmt}", query_string={"q": query, **params})
    assert response.status_code == 200, response.data
    if fmt == "json":
        return [item["id"] for item in response.get_json()]
    return etree.fromstring(response.data).xpath("/articles/article/id/text()")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("rats in my alley", "rats-in-the-alley-or-yard"),
        ("street light out", "street-light-out"),
        ("tree branch down", "tree-branch-down-or-fallen-tree"),
        ("pothole", "potholes-in-the-street"),
        ("graffiti on my garage", "graffiti-removal"),
        ("abandoned car", "abandoned-vehicles"),
        ("my garbage cart is broken", "garbage-cart-broken-or-missing"),
        ("the light in our alley is out", "alley-lights-out"),
        ("dead raccoon", "dead-animal-pick-up"),
        ("water main break", "water-on-the-street"),
        ("someone dumped a mattress", "fly-dumping"),
        ("overflowing dumpster", "sanitation-code-violations"),
    ],
)
def test_real_queries_rank_the_right_article_first(chicago, client, query, expected):
    assert first_ids(client, query)[0] == expected


def test_json_and_xml_give_the_same_ranking(chicago, client):
    assert first_ids(client, "street light out", "xml") == first_ids(client, "street light out")


def test_plurals_and_stems_match(chicago, client):
    """Porter on SQLite, 'english' on PostgreSQL: rat/rats, baiting/bait, lights/light."""
    assert first_ids(client, "rat")[0] == "rats-in-the-alley-or-yard"
    assert first_ids(client, "baited")[0] == "rats-in-the-alley-or-yard"
    assert first_ids(client, "potholes")[0] == "potholes-in-the-street"
    assert "street-light-out" in first_ids(client, "streetlights lamps")


@pytest.mark.parametrize(
    "query",
    [
        '"rats',
        "rats*",
        "-rats",
        "rats OR",
        "rats AND NOT alley",
        "NEAR(rats alley)",
        "rats:alley",
        "^rats",
        "(rats",
        "rats)",
        "rats | !alley",
        "rats & <->",
    ],
)
def test_query_syntax_in_user_input_is_taken_as_words(chicago, client, query):
    assert first_ids(client, query)[0] == "rats-in-the-alley-or-yard"


@pytest.mark.parametrize(
    "query", ["OR", "AND", "NOT", "'; DROP TABLE article; --", "rats\\", "a:*"]
)
def test_query_words_that_are_operators_or_sql_do_no_harm(chicago, client, query):
    assert isinstance(first_ids(client, query), list)
    with chicago.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) >= 15


def test_only_stop_words_find_nothing(chicago, client):
    response = client.get("/open311/v2/articles.json?q=the")
    assert response.status_code == 200
    assert isinstance(response.get_json(), list)


def test_service_code_narrows_the_search(chicago, client):
    assert first_ids(client, "alley", service_code="PHB") == ["potholes-in-the-alley"]
    assert first_ids(client, "graffiti", service_code="PHB") == []


def test_service_code_alone_lists_its_articles(chicago, client):
    response = client.get("/open311/v2/articles.json?service_code=SFD")
    assert [item["id"] for item in response.get_json()] == ["street-light-out"]


def test_search_result_shape(chicago, client):
    item = client.get("/open311/v2/articles.json?q=rats").get_json()[0]
    assert item["title"] == "Rats in the alley or yard"
    assert item["service_codes"] == ["SGA"]
    assert "rodent" in item["keywords"]
    assert item["url"] == "http://localhost/open311/v2/articles/rats-in-the-alley-or-yard.json"
    assert "body_html" not in item


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_article_with_its_body_as_html(chicago, client, fmt):
    response = client.get(f"/open311/v2/articles/street-light-out.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        (article,) = response.get_json()
        body = article["body_html"]
        assert article["service_codes"] == ["SFD", "SFK", "SFN"]
    else:
        body = etree.fromstring(response.data).findtext("article/body_html")
    assert "<h2>What to put in your report</h2>" in body
    assert "<strong>Street Light Out Complaint</strong>" in body


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/open311/v2/articles.json", 400, "q or service_code is required."),
        ("/open311/v2/articles.json?q=", 400, "q or service_code is required."),
        ("/open311/v2/articles.json?q=%20%20", 400, "q or service_code is required."),
        ("/open311/v2/articles.json?q=***", 400, "q: '***' has no words to search for."),
        ("/open311/v2/articles.json?q=" + "a" * 201, 400, "q: at most 200 characters."),
        (
            "/open311/v2/articles.json?q=rats&service_code=NOPE",
            404,
            "service_code: 'NOPE' is not a service.",
        ),
        ("/open311/v2/articles/no-such-article.json", 404, "article 'no-such-article' not found."),
        ("/open311/v2/articles/%27%3B--.json", 404, 'article "\';--" not found.'),
    ],
)
def test_bad_input_is_a_clear_error_in_json(chicago, client, url, status, message):
    response = client.get(url)
    assert response.status_code == status
    assert response.get_json() == [{"code": status, "description": message}]


def test_bad_input_is_a_clear_error_in_xml(chicago, client):
    response = client.get("/open311/v2/articles.xml?q=")
    assert response.status_code == 400
    assert (
        etree.fromstring(response.data).findtext("error/description")
        == "q or service_code is required."
    )
    assert client.get("/open311/v2/articles/nothing-here").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_lists_articles_only_with_extensions(chicago, client, fmt):
    plain = client.get(f"/open311/v2/services/SGA.{fmt}")
    extended = client.get(f"/open311/v2/services/SGA.{fmt}?extensions=true")
    if fmt == "json":
        assert "articles" not in plain.get_json()
        assert extended.get_json()["articles"] == [
            {
                "id": "rats-in-the-alley-or-yard",
                "title": "Rats in the alley or yard",
                "url": "http://localhost/open311/v2/articles/rats-in-the-alley-or-yard.json",
            }
        ]
    else:
        assert etree.fromstring(plain.data).find("articles") is None
        assert etree.fromstring(extended.data).xpath("articles/article/id/text()") == [
            "rats-in-the-alley-or-yard"
        ]


def test_service_without_articles_has_an_empty_list(chicago, client):
    assert client.get("/open311/v2/services/CAFE.json?extensions=true").get_json()["articles"] == []


# Loading -------------------------------------------------------------------------------


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = '+++\ntitle = "Potholes"\nsummary = "Fix them."\nservices = ["PHF"]\nkeywords = ["hole"]\n+++\nBody **text**.\n'


def test_loading_twice_changes_nothing_and_edits_update(app, tmp_path):
    write(tmp_path, "potholes.md", GOOD)
    with app.app_context():
        session = db.session()
        begin_write(session)
        first = load_articles(session, read_articles(tmp_path, SCHEMAS))
        second = load_articles(session, read_articles(tmp_path, SCHEMAS))
        write(tmp_path, "potholes.md", GOOD.replace('["PHF"]', '["GRAF", "PHF"]'))
        third = load_articles(session, read_articles(tmp_path, SCHEMAS))
        db.session.commit()
        article = db.session.scalar(sa.select(Article))
        assert (first.added, second.unchanged, third.changed) == (1, 1, 1)
        assert article.service_codes == ["GRAF", "PHF"]


def test_edits_and_removals_reach_the_search_index(app, client, tmp_path):
    write(tmp_path, "potholes.md", GOOD)
    write(tmp_path, "graffiti.md", GOOD.replace("Potholes", "Graffiti").replace("PHF", "GRAF"))
    with app.app_context():
        begin_write(db.session())
        load_articles(db.session(), read_articles(tmp_path, SCHEMAS))
        db.session.commit()
    assert first_ids(client, "potholes") == ["potholes"]
    write(tmp_path, "potholes.md", GOOD.replace("Potholes", "Cave-ins"))
    (tmp_path / "graffiti.md").unlink()
    with app.app_context():
        begin_write(db.session())
        report = load_articles(db.session(), read_articles(tmp_path, SCHEMAS))
        db.session.commit()
    assert report.removed == 1
    assert first_ids(client, "potholes") == []
    assert first_ids(client, "graffiti") == []
    assert first_ids(client, "cave") == ["potholes"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("Bad_Name.md", GOOD, "file name: 'Bad_Name' is not lower-case words"),
        ("no-front.md", "Just text\n", "front matter: the file must start with TOML"),
        ("bad-toml.md", "+++\ntitle = \n+++\nBody\n", "front matter: not valid TOML"),
        (
            "no-title.md",
            GOOD.replace('title = "Potholes"\n', ""),
            "(front matter): 'title' is a required property",
        ),
        ("bad-service.md", GOOD.replace('"PHF"', '"phf"'), "services[0]: 'phf' does not match"),
        ("bad-keyword.md", GOOD.replace('"hole"', '"a,b"'), "keywords[0]: 'a,b' does not match"),
        (
            "extra.md",
            GOOD.replace("+++\nBody", 'colour = "red"\n+++\nBody'),
            "Additional properties are not allowed ('colour' was unexpected)",
        ),
        (
            "empty-body.md",
            GOOD.replace("Body **text**.\n", ""),
            "body: the Markdown after the front matter is empty",
        ),
    ],
)
def test_bad_files_name_the_file_the_field_and_the_problem(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(ArticleError) as caught:
        read_articles(tmp_path, SCHEMAS)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_unknown_service_names_the_file(app, tmp_path):
    path = write(tmp_path, "x.md", GOOD.replace('"PHF"', '"NOPE"'))
    with (
        app.app_context(),
        pytest.raises(ArticleError, match=r"services\[0\]: 'NOPE' is not a service"),
    ):
        load_articles(db.session(), read_articles(tmp_path, SCHEMAS))
    assert str(path) in str(ArticleError(str(path)))


def test_cli_loads_idempotently_and_reports_bad_files(chicago, tmp_path):
    runner = chicago.test_cli_runner()
    result = runner.invoke(args=["open311", "load-articles", str(ARTICLES)])
    assert result.exit_code == 0, result.output
    count = len(list(ARTICLES.glob("*.md")))
    assert (
        result.output.strip()
        == f"{count} articles: 0 added, 0 changed, {count} unchanged, 0 removed"
    )
    write(tmp_path, "bad.md", GOOD.replace('"PHF"', '"NOPE"'))
    result = runner.invoke(args=["open311", "load-articles", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.md: services[0]: 'NOPE' is not a service" in result.output


def test_the_demo_articles_are_enough_and_cover_the_services():
    articles = read_articles(ARTICLES, SCHEMAS)
    covered = {code for article in articles for code in article.services}
    assert len(articles) >= 15
    assert {
        "SGA",
        "SFD",
        "SFA",
        "SEC",
        "SEL",
        "PHF",
        "GRAF",
        "SKA",
        "SIE",
        "SCB",
        "AAE",
        "SGQ",
    } <= covered
    assert all("911" in article.body for article in articles)


# Sanitising ----------------------------------------------------------------------------

HOSTILE = """# Title

<script>alert(1)</script> <style>body{display:none}</style>
<img src=x onerror="alert(2)"> <a href="javascript:alert(3)" onclick="alert(4)">a</a>

[link](javascript:alert(5)) [data](data:text/html;base64,PHNjcmlwdD4=) [ok](https://example.org)
[vb](vbscript:msgbox) <iframe src="https://evil.example"></iframe>
<svg onload=alert(6)> <div style="background:url(javascript:alert(7))">x</div>
"""


def test_markdown_is_rendered_without_anything_executable():
    rendered = to_safe_html(HOSTILE)
    tree = html.fragment_fromstring(rendered, create_parent="div")
    assert tree.xpath("//script|//style|//iframe|//img|//svg|//div//div") == []
    attributes = [
        (element.tag, name, value)
        for element in tree.iter()
        for name, value in element.attrib.items()
    ]
    assert all(not name.startswith("on") and name != "style" for _tag, name, _value in attributes)
    hrefs = [value for _tag, name, value in attributes if name == "href"]
    assert hrefs == ["https://example.org"]
    assert "<h1>Title</h1>" in rendered


def test_hostile_body_stays_inert_through_the_api(app, client, tmp_path):
    write(tmp_path, "hostile.md", GOOD.replace("Body **text**.\n", HOSTILE))
    with app.app_context():
        begin_write(db.session())
        load_articles(db.session(), read_articles(tmp_path, SCHEMAS))
        db.session.commit()
    (article,) = client.get("/open311/v2/articles/hostile.json").get_json()
    assert article["body_html"] == to_safe_html(HOSTILE)
    xml = client.get("/open311/v2/articles/hostile.xml").data
    assert etree.fromstring(xml).findtext("article/body_html") == to_safe_html(HOSTILE)
    assert json.dumps(article).count("<script") == 0
