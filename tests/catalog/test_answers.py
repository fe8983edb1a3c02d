"""Stored answers as staff read them: the questions' words and the options' names."""

from __future__ import annotations

from open311.catalog.answers import labelled

QUESTIONS = [
    {"code": "HAZARDS", "datatype": "multivaluelist", "order": 2, "description": "Any hazards?",
     "values": [{"key": "WATER", "name": "Standing water"}, {"key": "GLASS", "name": "Glass"}]},
    {"code": "WHEREIST", "datatype": "singlevaluelist", "order": 1,
     "description": "Where is the pothole?", "values": [{"key": "CURB", "name": "Curb lane"}]},
    {"code": "HOWMANY", "datatype": "number", "order": 3, "description": "How many?"},
]  # fmt: skip


def test_answers_read_as_the_form_asked_them_in_its_order():
    answers = {"HOWMANY": 3.0, "HAZARDS": ["GLASS", "WATER"], "WHEREIST": "CURB"}
    assert labelled(QUESTIONS, answers) == [
        ("Where is the pothole?", "Curb lane"),
        ("Any hazards?", "Glass, Standing water"),
        ("How many?", "3"),
    ]


def test_what_the_catalogue_no_longer_asks_or_offers_keeps_its_code():
    answers = {"GONE": "yes", "WHEREIST": "SKY", "HOWMANY": 2.5}
    assert labelled(QUESTIONS, answers) == [
        ("Where is the pothole?", "SKY"),
        ("How many?", "2.5"),
        ("GONE", "yes"),
    ]
    assert labelled([], {"WHEREIST": "CURB"}) == [("WHEREIST", "CURB")]
