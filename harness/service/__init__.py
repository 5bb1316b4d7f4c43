"""KOMBIT's certification service (`oir service`): a web application where vendors register test systems
and run certifications, KOMBIT's reviewers approve or reject them and the service signs approved runs
with KOMBIT's key, and the rollout board is live.

It lives inside `harness/` because it composes everything the harness has — it runs `oir certify`,
re-signs its certificates (certification/certificate.py, keys.py) and builds rollout.py's board — and
DESIGN.md's import rules say nothing imports `harness/` except `tests/` and `bench/`: as a package of
its own at the top level it would have to import the harness and break that rule.

Modules: models.py (the database), secrets.py (password hashes, tokens, credentials encrypted at rest),
core.py (the rules: who sees what, runs, reviews, audit trail), runner.py (workers leasing runs, one
`oir certify` process each), signing.py (KOMBIT's certificate of an approved run), board.py (the live
rollout board), app.py (pages and the HTTP API), commands.py (`oir service serve` and `… admin`).
"""

from .app import create_app
from .core import Service, ServiceConfig, ServiceError
from .runner import Workers

__all__ = ["Service", "ServiceConfig", "ServiceError", "Workers", "create_app"]
