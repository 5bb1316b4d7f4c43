"""The ØiR integration engine: routes each municipality's claims to its debtor system, keeps FBS and
the debtor system in step, and loses nothing in a crash. It never imports `simulators`: it runs
unchanged against real vendors.

Its front door is `Engine`, built from one `EngineSettings` (engine.py, settings.py); `build_engine`
and `serve_forever` run it as a service (service.py).
"""

from .claim_migration import MigrationReport
from .clock import Clock, ManualClock, SystemClock
from .engine import Engine
from .errors import EngineError
from .parts import CycleReport
from .reconcile import ReconciliationReport
from .routing import DEV_TOKEN, Route, RoutingError, RoutingTable
from .service import build_engine, serve_forever
from .settings import EngineSettings, EngineSetupError

__all__ = [
    "DEV_TOKEN",
    "Clock",
    "CycleReport",
    "Engine",
    "EngineError",
    "EngineSettings",
    "EngineSetupError",
    "ManualClock",
    "MigrationReport",
    "ReconciliationReport",
    "Route",
    "RoutingError",
    "RoutingTable",
    "SystemClock",
    "build_engine",
    "serve_forever",
]
