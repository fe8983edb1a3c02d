"""Extension objects, created unbound and initialised in create_app()."""

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from open311.models.base import Base

db = SQLAlchemy(
    model_class=Base,
    # Only matters when a test binds the session to an open transaction.
    session_options={"join_transaction_mode": "create_savepoint"},
)

# The resident site's languages (open311/web/i18n.py chooses one per request).
babel = Babel()
