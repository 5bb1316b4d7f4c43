"""What a Pact verification found: per interaction, whether it held (or could not be run), and per
provider, the requirements the interactions that ran cover."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class InteractionResult:
    consumer: str
    description: str
    passed: bool
    requirements: list[str]
    states: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    # False: a provider state needed time to pass and the provider has no clock to move (a real system
    # lives in real time); whatever it answered proves nothing, so it is neither a pass nor a failure
    ran: bool = True


@dataclass
class PactVerification:
    provider: str
    target: str
    interactions: list[InteractionResult]
    output: str
    seconds: float
    state_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        ran = [i for i in self.interactions if i.ran]
        return bool(ran) and all(i.passed for i in ran)

    @property
    def failed(self) -> list[InteractionResult]:
        return [i for i in self.interactions if i.ran and not i.passed]

    @property
    def not_run(self) -> list[InteractionResult]:
        return [i for i in self.interactions if not i.ran]

    def requirements(self) -> dict[str, bool]:
        """Each requirement ID the pacts that ran cover, and whether every interaction citing it held."""
        covered: dict[str, bool] = {}
        for result in self.interactions:
            if not result.ran:
                continue
            for requirement in result.requirements:
                covered[requirement] = covered.get(requirement, True) and result.passed
        return covered

    def summary(self) -> str:
        lines = [
            f"{self.provider} at {self.target}: "
            f"{len(self.interactions) - len(self.failed)}/{len(self.interactions)} interactions held"
        ]
        for result in self.failed:
            lines.append(f"  FAILED {result.consumer}: {result.description} [{', '.join(result.requirements)}]")
            lines.extend(f"    {m}" for m in result.mismatches)
        for result in self.not_run:
            lines.append(
                f"  NOT RUN {result.consumer}: {result.description} [{', '.join(result.requirements)}]: "
                f"{NOT_RUN_REASON}"
            )
        lines.extend(f"  state set-up: {e}" for e in self.state_errors)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "requirements": self.requirements()}


NOT_RUN_REASON = (
    "its provider state needs time to pass (a day), and the provider has no simulator clock to move: "
    "a real system lives in real time, so its answer now proves nothing either way"
)
