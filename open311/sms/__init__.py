"""Reporting by text message: a provider-neutral conversation (conversation.py) with its
state in the database (store.py), and one provider adapter (twilio.py, views.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask

from open311 import rate_limits
from open311.catalog.translations import read_translations
from open311.sms import store, views, words
from open311.sms.twilio import Account


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions[views.ACCOUNT] = Account.from_config(config)
    app.extensions[views.SETTING] = store.Setting(
        jurisdiction=app.extensions["open311.jurisdiction"],
        replay_window=timedelta(seconds=config["REPLAY_WINDOW_SECONDS"]),
        contact=config["CONTACT"],
        translated_names={
            language: read_translations(
                Path(config["CATALOG_DIR"]), Path(config["SCHEMAS_DIR"]), language
            )
            for language in words.LANGUAGES
            if language != "en"
        },
    )
    # The provider's few addresses carry every resident's texts: a per-address limit
    # would drop residents' texts at a busy hour. Each request is signature-checked
    # before anything else, so an unsigned flood costs one HMAC each.
    app.extensions[rate_limits.EXTENSION].exempt(views.bp)
    app.register_blueprint(views.bp)
