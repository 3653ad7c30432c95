"""The HTTP face: an ASGI app (:mod:`.app`) and the server that runs it (:mod:`.server`).

``create_app`` and ``app_from_environment`` are importable from here, as they always were
(``uvicorn nato_search.web:app_from_environment``).
"""

from nato_search.web.app import (
    INDEX_VARIABLE,
    MAX_LIMIT,
    MAX_OFFSET,
    app_from_environment,
    create_app,
    results_json,
)

__all__ = [
    "INDEX_VARIABLE",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "app_from_environment",
    "create_app",
    "results_json",
]
