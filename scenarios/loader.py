"""Load scenario files: parse with positions, check every key against the language, and build the
model the runner executes. Every mistake is a ScenarioError naming the file, the line and the key,
with the nearest valid name where there is one; the generated JSON Schema is the last gate.

A step may say which of the scenario's requirements it asserts (`covers:` on the step, a subset of the
scenario's `covers:`): when that step fails, only those are blamed (see runner.py).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.municipalities import load_municipalities
from contracts.profile import CAPABILITIES, PROFILE_NAMES
from contracts.requirements import load_requirements

from .errors import ScenarioError, nearest
from .fields import unknown_field
from .schema import TOP_LEVEL_KEYS, validate_against_schema
from .source import LineDict, LineList, read_yaml
from .values import DAY, DEADLINE, ValueProblem, is_reference, parse_date, parse_duration, parse_money, references_in
from .vocabulary import ACTORS, STEP_KEYS, Action, Arg, actions

SCENARIO_SUFFIX = ".scenario.yaml"
BUNDLED_SUITES = Path(__file__).resolve().parent / "suites"  # the suites this package ships
EXPECT_KEYS = ("that", "within", "stop_if", "absent", "soft", "when", "as", "covers")
MATCHERS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "matches",
    "len",
    "exists",
    "every",
    "none",
)
# What people coming from other test tools write for a matcher, and the matcher it is here.
MATCHER_ALIASES = {
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "not_equal": "ne",
    "not_equals": "ne",
    "greater_than": "gt",
    "greater_than_or_equal": "gte",
    "at_least": "gte",
    "less_than": "lt",
    "less_than_or_equal": "lte",
    "at_most": "lte",
    "after": "gt",
    "before": "lt",
    "one_of": "in",
    "not_one_of": "not_in",
    "includes": "contains",
    "excludes": "not_contains",
    "does_not_contain": "not_contains",
    "regex": "matches",
    "length": "len",
    "all": "every",
    "any": "contains",
}


MUNICIPALITY_WORDS = ("first", "second", "other-vendor")  # relative to the profile a scenario runs for


def municipality_problem(choice: str) -> tuple[str, str | None] | None:
    """Why `choice` names no municipality, with the nearest name (None when it names one). The same
    forms `RunContext.municipality` accepts at run time: a word above, a code, a CVR or a name."""
    everyone = load_municipalities()
    lowered = choice.strip().lower()
    if lowered in MUNICIPALITY_WORDS or any(lowered in (m.code, m.cvr, m.name.lower()) for m in everyone):
        return None
    names = {m.name.lower(): m.name for m in everyone}
    close = nearest(lowered, [*names, *MUNICIPALITY_WORDS])
    return (
        f"no municipality {choice!r}: give {', '.join(MUNICIPALITY_WORDS)}, a municipality code, a CVR or a name",
        names.get(close, close) if close else None,
    )


def nearest_choice(value: str, choices: Iterable[str]) -> str | None:
    """The allowed value meant: the same letters in another case first (`gebyr` → GEBYR), else the nearest."""
    options = list(choices)
    same = next((c for c in options if c.lower() == value.lower()), None)
    return same or nearest(value, options) or nearest(value.upper(), options)


def nearest_matcher(name: str) -> str | None:
    """The matcher a misspelt or foreign one most likely means (case-insensitive; common aliases)."""
    lowered = name.lower().replace("-", "_")
    if lowered in MATCHERS:
        return lowered
    return MATCHER_ALIASES.get(lowered) or nearest(lowered, MATCHERS)


_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Simulation-only needs a vendor's real debtor system cannot meet: its own simulator's operations, and
# virtual time or faults (which act on every system of the world). FBS, PSRM and the payment solution
# stay simulators in a certification, so their simulation-only operations are fine.
VENDOR_SIDE = frozenset({"debtor", "clock", "faults"})


@dataclass(frozen=True)
class Step:
    index: int
    line: int
    action: str  # "actor.name", or "expect"
    args: dict[str, Any]
    capture: str | None = None
    status: int | None = None  # the HTTP status the act must get (default: any 2xx)
    code: str | None = None  # the problem code it must carry
    query: str | None = None  # for expect: the query action
    that: dict[str, Any] = field(default_factory=dict)
    stop_if: dict[str, Any] = field(default_factory=dict)
    within: float | None = None  # seconds of real time to keep polling
    absent: bool = False
    covers: tuple[str, ...] = ()  # the scenario's requirements this step asserts (blamed if it fails)
    soft: bool = False  # expect only: a failure is recorded and the scenario goes on (it still fails)
    when: tuple[str, ...] = ()  # capabilities the profile must declare for this step to run


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    file: Path
    line: int
    covers: tuple[str, ...]
    tags: tuple[str, ...]
    requires: tuple[str, ...]
    profiles: tuple[str, ...]
    seed: int
    start: datetime | None
    steps: tuple[Step, ...]
    actors: frozenset[str]  # the actors its steps use (fbs, engine, debtor, …)
    needs_simulated: frozenset[str]  # actors whose simulation-only operations it uses ("clock" for `start:`)

    @property
    def simulated_only(self) -> bool:
        """It needs the debtor system's simulator (or moves virtual time): it cannot run against a vendor."""
        return bool(self.needs_simulated & VENDOR_SIDE)

    @property
    def reaches_debtor(self) -> bool:
        """Its steps involve a debtor system (directly, or through FBS and the engine), not only PSRM."""
        return bool(self.actors & {"debtor", "engine", "payment"})

    def why_not_against_a_vendor(self, test_control: bool = False) -> str:
        """Why it cannot say anything about a vendor's real debtor system ("" if it can run against one).

        `test_control`: the vendor's test system offers `oir-testkontrol-v1`, so moving the business date,
        a bank transfer and what the system sent are no longer the simulator's alone. A scenario that
        starts at a set date still cannot run: a vendor's business date only moves forward, and every
        earlier run (and scenario) already moved it."""
        if not self.reaches_debtor:
            return "concerns PSRM alone, not the debtor system"
        if self.start is not None:
            if test_control:
                return (
                    f"starts at a set date ({self.start.date().isoformat()}); a vendor's business date only moves "
                    "forward, so no run after the first could start there"
                )
            return "starts at a set virtual time; a vendor's system lives in real time"
        if not self.simulated_only:
            return ""
        registry = actions()
        needs = sorted(
            {
                name
                for step in self.steps
                for name in [step.query if step.action == "expect" else step.action]
                if name
                and registry[name].simulated
                and registry[name].actor in VENDOR_SIDE
                and not (test_control and registry[name].test_control)
            }
        )
        if not needs:
            return ""
        if test_control:
            return f"needs the debtor simulator: what test control does not offer ({', '.join(needs)})"
        return f"needs the debtor simulator or virtual time ({', '.join(needs)})"

    def runs_against_vendor(self) -> bool:
        """Whether it says something about a vendor's real debtor system and can run against one."""
        return not self.why_not_against_a_vendor()

    def applies_to(self, profile: str, capabilities: frozenset[str]) -> bool:
        return (not self.profiles or profile in self.profiles) and set(self.requires) <= capabilities


def bundled_scenario_files() -> list[Path]:
    """The scenario files of the bundled suites (what a certification runs, and digests)."""
    return sorted(BUNDLED_SUITES.rglob(f"*{SCENARIO_SUFFIX}"))


def load_suite(paths: Iterable[Path]) -> list[Scenario]:
    """Every scenario file under the given files or folders; scenario ids must be unique. The first
    authoring error is raised (`collect_suite` gathers them all)."""
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for path in paths:
        files = sorted(path.rglob(f"*{SCENARIO_SUFFIX}")) if path.is_dir() else [path]
        for file in files:
            scenario = load_scenario(file)
            if scenario.id in seen:
                raise ScenarioError(
                    file, scenario.line, "scenario", f"id '{scenario.id}' is used by {seen[scenario.id]} too"
                )
            seen[scenario.id] = file
            scenarios.append(scenario)
    return scenarios


@dataclass
class SuiteLoad:
    """What `collect_suite` found: the scenarios that load, every authoring error (one per broken
    file), and the YAML files in the folders that are not scenario files by name (never silently
    skipped: the caller says so)."""

    scenarios: list[Scenario] = field(default_factory=list)
    errors: list[ScenarioError] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def collect_suite(paths: Iterable[Path]) -> SuiteLoad:
    """Every scenario under the given files or folders, and every authoring error of them at once, so
    an author fixes five broken files from one run. A file given by name must be named
    `*.scenario.yaml` (what pytest collects too): one that is not is an error saying so."""
    found = SuiteLoad()
    seen: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(path.rglob(f"*{SCENARIO_SUFFIX}"))
            yaml_files = [p for pattern in ("*.yaml", "*.yml") for p in path.rglob(pattern)]
            found.ignored += sorted(p for p in yaml_files if not p.name.endswith(SCENARIO_SUFFIX))
        elif not path.name.endswith(SCENARIO_SUFFIX):
            found.errors.append(
                ScenarioError(path, None, "(file)", f"not a scenario file: scenario files are named *{SCENARIO_SUFFIX}")
            )
            continue
        else:
            files = [path]
        for file in files:
            try:
                scenario = load_scenario(file)
            except ScenarioError as error:
                found.errors.append(error)
                continue
            if scenario.id in seen:
                message = f"id '{scenario.id}' is used by {seen[scenario.id]} too"
                found.errors.append(ScenarioError(file, scenario.line, "scenario", message))
                continue
            seen[scenario.id] = file
            found.scenarios.append(scenario)
    return found


def load_scenario(path: Path) -> Scenario:
    return _Checker(path).scenario()


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path
        # built in: ${day.N}, N days after the scenario's start; ${deadline.N.M}, deadlines moved to bank days
        self.captures: dict[str, int] = {DAY: 0, DEADLINE: 0}
        self.covers: tuple[str, ...] = ()  # the scenario's, which a step's covers must be among
        self.actors: set[str] = set()
        self.needs_simulated: set[str] = set()

    def fail(self, line: int | None, key: str, message: str, suggestion: str | None = None) -> ScenarioError:
        return ScenarioError(self.path, line, key, message, suggestion)

    # ---- the document ----------------------------------------------------------------------------
    def scenario(self) -> Scenario:
        document = read_yaml(self.path)
        if not isinstance(document, LineDict):
            raise self.fail(1, "(file)", "a scenario file is a mapping with scenario, title, covers and steps")
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                raise self.fail(document.line_of(key), key, "unknown key", nearest(key, TOP_LEVEL_KEYS))
        for key in ("scenario", "title", "covers", "steps"):
            if key not in document:
                raise self.fail(document.line, key, "missing; every scenario needs scenario, title, covers and steps")
        scenario_id = document["scenario"]
        if not isinstance(scenario_id, str) or not _ID.match(scenario_id):
            raise self.fail(document.line_of("scenario"), "scenario", "the id is lower-case letters, digits and dashes")
        covers = self.names(document, "covers", set(load_requirements()), "requirement ID")
        self.covers = covers
        requires = self.names(document, "requires", set(CAPABILITIES), "capability")
        profiles = self.names(document, "profiles", set(PROFILE_NAMES), "profile")
        tags = self.names(document, "tags", None, "tag")
        seed = document.get("seed", zlib.crc32(scenario_id.encode()))
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise self.fail(document.line_of("seed"), "seed", f"{seed!r} is not a whole number")
        start = self.start(document)
        steps_raw = document["steps"]
        if not isinstance(steps_raw, LineList) or not steps_raw:
            raise self.fail(document.line_of("steps"), "steps", "a non-empty list of steps")
        steps = tuple(self.step(index, steps_raw.line_of(index), raw) for index, raw in enumerate(steps_raw))
        validate_against_schema(document, self.path)
        return Scenario(
            id=scenario_id,
            title=str(document["title"]),
            file=self.path,
            line=document.line_of("scenario"),
            covers=covers,
            tags=tags,
            requires=requires,
            profiles=profiles,
            seed=seed,
            start=start,
            steps=steps,
            actors=frozenset(self.actors),
            needs_simulated=frozenset(self.needs_simulated | ({"clock"} if start is not None else set())),
        )

    def names(self, document: LineDict, key: str, known: set[str] | None, what: str) -> tuple[str, ...]:
        if key not in document:
            return ()
        raw = document[key]
        if not isinstance(raw, LineList):
            raise self.fail(document.line_of(key), key, f"a list (of {what} names)")
        for index, name in enumerate(raw):
            if not isinstance(name, str) or (known is not None and name not in known):
                raise self.fail(raw.line_of(index), key, f"unknown {what} {name!r}", nearest(str(name), known or set()))
        return tuple(raw)

    def start(self, document: LineDict) -> datetime | None:
        if "start" not in document:
            return None
        try:
            start = datetime.fromisoformat(str(document["start"]))
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            raise self.fail(
                document.line_of("start"), "start", "an instant with its offset, e.g. 2026-12-22T09:00+01:00"
            )
        return start

    # ---- steps -----------------------------------------------------------------------------------
    def step(self, index: int, line: int, raw: Any) -> Step:
        if not isinstance(raw, LineDict) or len(raw) != 1:
            keys = ", ".join(raw) if isinstance(raw, dict) else type(raw).__name__
            raise self.fail(line, f"steps[{index}]", f"a step is one action with its arguments, got: {keys}")
        [name] = raw
        line = raw.line_of(name)
        if name == "expect":
            return self.expectation(index, line, raw[name])
        spec = self.action(line, name)
        if spec.kind == "query":
            raise self.fail(line, name, "a query only observes; use it inside an expect: step")
        args = self.arguments(line, name, spec, raw[name], allowed_extra=STEP_KEYS)
        capture = self.capture(args.pop("as", None), raw[name], line)
        status = args.pop("status", None)
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise self.fail(self.line_in(raw[name], "status", line), "status", f"{status!r} is not an HTTP status")
        code = args.pop("code", None)
        that = self.matchers(raw[name], "that") if isinstance(raw[name], LineDict) else {}
        args.pop("that", None)
        covers = self.step_covers(raw[name], args.pop("covers", None), line)
        when = self.step_when(raw[name], args.pop("when", None), line, covers)
        return Step(
            index, line, name, args, capture=capture, status=status, code=code, that=that, covers=covers, when=when
        )

    def action(self, line: int, name: str) -> Action:
        registry = actions()
        if name in registry:
            spec = registry[name]
            self.actors.add(spec.actor)
            if spec.simulated:
                self.needs_simulated.add(spec.actor)
            return spec
        actor, dot, _ = name.partition(".")
        if not dot or actor not in ACTORS:
            suggestion = nearest(name, registry) or nearest(actor, ACTORS)
            raise self.fail(line, name, f"unknown actor '{actor}'; actors are {', '.join(ACTORS)}", suggestion)
        own = [n for n in registry if n.startswith(actor + ".")]
        raise self.fail(line, name, f"unknown action of {actor}; it can: {', '.join(sorted(own))}", nearest(name, own))

    def expectation(self, index: int, line: int, raw: Any) -> Step:
        if not isinstance(raw, LineDict):
            raise self.fail(line, "expect", "a mapping: a query, then that/within/stop_if/absent")
        queries = [key for key in raw if key not in EXPECT_KEYS]
        if len(queries) != 1:
            if not queries:
                raise self.fail(line, "expect", "name one query to observe, e.g. fbs.claim: fee")
            stray = next((k for k in queries if "." not in k), None)
            if stray is not None:  # not a query (those are actor.name): a misspelt key of the expect
                raise self.fail(
                    raw.line_of(stray),
                    stray,
                    f"unknown key '{stray}' in an expect; besides its one query (actor.name) an expect "
                    f"takes {', '.join(EXPECT_KEYS)}",
                    nearest(stray.lower(), EXPECT_KEYS),
                )
            raise self.fail(raw.line_of(queries[1]), queries[1], "an expect observes exactly one query")
        query = queries[0]
        query_line = raw.line_of(query)
        spec = self.action(query_line, query)
        if spec.kind != "query":
            raise self.fail(query_line, query, "only a query may stand in an expect (it may be polled)")
        args = self.arguments(query_line, query, spec, raw[query], allowed_extra=())
        within = None
        if "within" in raw:
            try:
                within = parse_duration(raw["within"])
            except ValueProblem as problem:
                raise self.fail(raw.line_of("within"), "within", str(problem)) from problem
        absent = raw.get("absent", False)
        if not isinstance(absent, bool):
            raise self.fail(raw.line_of("absent"), "absent", "true or false")
        soft = raw.get("soft", False)
        if not isinstance(soft, bool):
            raise self.fail(raw.line_of("soft"), "soft", "true or false")
        that = self.matchers(raw, "that")
        stop_if = self.matchers(raw, "stop_if")
        for key in ("that", "stop_if"):
            self.fields(spec, raw, key)
        capture = self.capture(raw.get("as"), raw, line)
        return Step(
            index=index,
            line=line,
            action="expect",
            args=args,
            capture=capture,
            query=query,
            that=that,
            stop_if=stop_if,
            within=within,
            absent=absent,
            covers=(covers := self.step_covers(raw, raw.get("covers"), line)),
            soft=soft,
            when=self.step_when(raw, raw.get("when"), line, covers),
        )

    def step_when(self, raw: Any, value: Any, line: int, covers: tuple[str, ...]) -> tuple[str, ...]:
        """A step's `when:`: the capabilities a profile must declare for the step to run. A skipped step
        proves nothing, so it must name what it asserts (`covers:`), and only requirements that bind
        profiles with those capabilities alone — for the others they are not applicable, never passed."""
        if value is None:
            return ()
        where = self.line_in(raw, "when", line)
        names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else None
        if not names:
            raise self.fail(where, "when", f"a capability or a list of them ({', '.join(CAPABILITIES)})")
        for name in names:
            if name not in CAPABILITIES:
                raise self.fail(where, "when", f"unknown capability {name!r}", nearest(str(name), CAPABILITIES))
        if not covers:
            raise self.fail(where, "when", "a step that runs only for some profiles names what it asserts (covers:)")
        catalogue = load_requirements()
        loose = [rid for rid in covers if catalogue[rid].requires not in names]
        if loose:
            raise self.fail(
                where,
                "when",
                f"{', '.join(loose)} bind(s) every profile, so a step skipped for some cannot cover it; "
                "cover only requirements that require the capability",
            )
        return tuple(names)

    def step_covers(self, raw: Any, value: Any, line: int) -> tuple[str, ...]:
        """A step's `covers:`: requirement IDs the scenario covers, each at most once."""
        if value is None:
            return ()
        where = self.line_in(raw, "covers", line)
        if not isinstance(value, LineList) or not value:
            raise self.fail(where, "covers", "a non-empty list of the scenario's requirement IDs this step asserts")
        for index, rid in enumerate(value):
            at = value.line_of(index)
            if not isinstance(rid, str) or rid not in self.covers:
                catalogue = load_requirements()
                hint = (
                    "add it to the scenario's covers first"
                    if isinstance(rid, str) and rid in catalogue
                    else "not a requirement ID of the catalogue"
                )
                raise self.fail(
                    at, "covers", f"{rid!r} is not among the scenario's covers ({hint})", nearest(str(rid), self.covers)
                )
            if list(value).count(rid) > 1:
                raise self.fail(at, "covers", f"{rid} is listed twice")
        return tuple(value)

    def matchers(self, raw: LineDict, key: str) -> dict[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, LineDict):
            if key in raw:
                raise self.fail(raw.line_of(key), key, "a mapping of field paths to expected values")
            return {}
        for path, expected in value.items():
            line = value.line_of(path)
            self.references(expected, line, path)
            if isinstance(expected, LineDict):  # a mapping is always matchers; nested fields use dotted paths
                self.matcher_map(expected, f"{key}.{path}")
        return dict(value)

    def matcher_map(self, expected: LineDict, where: str) -> None:
        """A field's mapping of matchers: known names; `every`/`none` hold a `that:`-style mapping."""
        for operator, bound in expected.items():
            line = expected.line_of(operator)
            if operator not in MATCHERS:
                raise self.fail(
                    line,
                    where,
                    f"unknown matcher '{operator}'; matchers are {', '.join(MATCHERS)} "
                    f"(a nested field is a dotted path, e.g. {where.split('.', 1)[-1]}.{operator})",
                    nearest_matcher(str(operator)),
                )
            if operator in ("every", "none"):
                if not isinstance(bound, LineDict) or not bound:
                    raise self.fail(
                        line,
                        f"{where}.{operator}",
                        f"{operator} holds a mapping of item fields to expected values, e.g. "
                        "{beloebOere: {gt: 0}} ('.' for the item itself)",
                    )
                for inner_path, inner in bound.items():
                    if isinstance(inner, LineDict):
                        self.matcher_map(inner, f"{where}.{operator}.{inner_path}")
            elif operator in ("in", "not_in") and not isinstance(bound, list):
                raise self.fail(line, f"{where}.{operator}", f"{operator} takes a list of the values allowed")

    def fields(self, spec: Action, raw: LineDict, key: str) -> None:
        """Each field path of `that:`/`stop_if:` must be one the query's answer can have (by its contract)."""
        value = raw.get(key)
        if spec.response is None or not isinstance(value, LineDict):
            return
        for path in value:
            unknown = unknown_field(spec.response, str(path))
            if unknown is not None:
                raise self.fail(
                    value.line_of(path),
                    f"{key}.{path}",
                    f"{spec.full_name} answers no field '{unknown.part}' ({unknown.where} has "
                    f"{', '.join(unknown.known)})",
                    nearest(unknown.part, unknown.known),
                )

    def arguments(self, line: int, name: str, spec: Action, raw: Any, allowed_extra: tuple[str, ...]) -> dict[str, Any]:
        if raw is None:
            raw = LineDict()
            raw.line = line
        if not isinstance(raw, LineDict):
            if spec.primary is None:
                raise self.fail(line, name, f"the arguments of {name} are a mapping ({', '.join(spec.args) or 'none'})")
            mapping = LineDict()
            mapping.line = line
            mapping[spec.primary] = raw
            mapping.lines[spec.primary] = line
            raw = mapping
        known = {**spec.args}
        for key in raw:
            if key not in known and key not in allowed_extra:
                raise self.fail(
                    raw.line_of(key), f"{name}.{key}", "unknown argument", nearest(key, [*known, *allowed_extra])
                )
        for key, arg in known.items():
            if arg.required and key not in raw:
                raise self.fail(raw.line, f"{name}.{key}", f"missing argument ({arg.doc or arg.type})")
        parsed: dict[str, Any] = {}
        for key, value in raw.items():
            if key in known:
                parsed[key] = self.value(raw.line_of(key), f"{name}.{key}", known[key], value)
            else:
                parsed[key] = value
        return parsed

    def value(self, line: int, key: str, arg: Arg, value: Any) -> Any:
        self.references(value, line, key)
        if is_reference(value):
            return value
        try:
            if arg.type == "ref":
                if not isinstance(value, str) or not _NAME.match(value):
                    raise ValueProblem(f"{value!r} is not the name of a captured value")
                if value not in self.captures:
                    raise self.fail(
                        line, key, f"'{value}' was never captured (as: {value})", nearest(value, self.captures)
                    )
                return "${" + value + "}"
            if arg.type == "money":
                return parse_money(value)
            if arg.type == "date":
                return parse_date(value).isoformat()
            if arg.type == "duration":
                return parse_duration(value)
            if arg.type == "int" and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueProblem(f"{value!r} is not a whole number")
            if arg.type == "bool" and not isinstance(value, bool):
                raise ValueProblem(f"{value!r} is not true or false")
            if arg.type == "str" and not isinstance(value, str | int):
                raise ValueProblem(f"{value!r} is not text")
            if arg.type == "mapping" and not isinstance(value, dict):
                raise ValueProblem("a mapping of keys to values")
            if arg.type == "list":
                if not isinstance(value, list):
                    raise ValueProblem("a list")
                if arg.items is not None:
                    return [self.item(value, index, key, arg.items) for index, _ in enumerate(value)]
        except ValueProblem as problem:
            raise self.fail(line, key, str(problem)) from problem
        if arg.choices and value not in arg.choices:
            raise self.fail(
                line, key, f"{value!r} is not one of {', '.join(arg.choices)}", nearest_choice(str(value), arg.choices)
            )
        if key.rsplit(".", 1)[-1] == "municipality" and isinstance(value, str | int):
            unknown = municipality_problem(str(value))
            if unknown:
                raise self.fail(line, key, *unknown)
        return str(value) if arg.type == "str" else value

    def item(self, items: Any, index: int, key: str, spec: dict[str, Arg]) -> dict[str, Any]:
        raw = items[index]
        line = items.line_of(index) if isinstance(items, LineList) else None
        if not isinstance(raw, LineDict):
            raise self.fail(line, f"{key}[{index}]", f"a mapping with {', '.join(spec)}")
        fake = Action(actor="", name="", kind="act", args=spec, doc="", run=lambda: None)
        return self.arguments(line or raw.line, f"{key}[{index}]", fake, raw, allowed_extra=())

    def references(self, value: Any, line: int, key: str) -> None:
        for name in references_in(value):
            if name not in self.captures:
                raise self.fail(
                    line, key, f"${{{name}}} refers to nothing captured before this step", nearest(name, self.captures)
                )

    def capture(self, name: Any, raw: Any, line: int) -> str | None:
        if name is None:
            return None
        where = self.line_in(raw, "as", line)
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(where, "as", f"{name!r} is not a name (letters, digits, _)")
        if name in self.captures:
            raise self.fail(where, "as", f"'{name}' is already captured on line {self.captures[name]}")
        self.captures[name] = where
        return name

    @staticmethod
    def line_in(raw: Any, key: str, default: int) -> int:
        return raw.line_of(key) if isinstance(raw, LineDict) else default
