"""Extension objects, created unbound and initialised in create_app()."""

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from open311.models.base import Base
from open311.routing import RoutedSession

db = SQLAlchemy(
    model_class=Base,
    # Only matters when a test binds the session to an open transaction.
    # RoutedSession: reads may go to a replica (open311/routing.py).
    session_options={"join_transaction_mode": "create_savepoint", "class_": RoutedSession},
)

# The resident site's languages (open311/web/i18n.py chooses one per request).
babel = Babel()
