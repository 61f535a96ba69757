"""Waivers: an owner's exception to one finding, with a reason and an expiry, instead of switching a gate off.

A waiver file is TOML, one ``[[waiver]]`` table per exception, every key required::

    [[waiver]]
    consumer = "pricing"                 # the consumer the finding is about
    contract = "order.v3"                # the contract version it consumes
    field = "customerTier"               # the critical field it would not get
    environment = "prod"
    owner = "pricing-team@example.com"   # who answers for it
    reason = "VIP prices ship with PRICE-123; until then BASIC is the agreed price"
    expires = 2026-03-31                 # the last day it holds (a TOML date), in UTC

``can-deploy`` and ``plan`` read ``--waivers FILE``, or else a ``waivers.toml`` beside the manifests of
the environment (in a ``--with`` directory, or in the directory of a ``--with`` file). For the
environment being judged, on today's date in UTC:

- an unexpired waiver turns the one error it matches (same consumer, contract, field and environment)
  into a warning that says who waived it, why and until when;
- an expired waiver is an error of its own (``waiver-expired``), and the finding it covered is an error
  again: renewing a waiver is a reviewed change like any other;
- a waiver that matches nothing is a warning (``waiver-unused``): remove it;
- a malformed file or waiver (a missing or unknown key, a date that is not one) is an input error: the
  gate answers nothing (exit 2), naming the file and the waiver.

Only findings about a field can be waived (``field-*``): a version a reader cannot read, or a consumer
with no producer, has no field to name and stays an error. Waivers for other environments are not
looked at (a shared file is judged per environment).
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syscontract.contract import ContractRef
from syscontract.errors import ContractError
from syscontract.manifest import Manifest, ManifestError
from syscontract.system import Finding, environment_findings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "FILE",
    "KEYS",
    "Ledger",
    "Waiver",
    "add_argument",
    "deploy_findings",
    "discover",
    "for_gate",
    "load",
    "today",
]

FILE = "waivers.toml"
"""The name of the waiver file looked for beside the manifests of an environment."""

KEYS = ("consumer", "contract", "field", "environment", "owner", "reason", "expires")
"""Every key a waiver must have, and the only ones it may have."""

MAX_BYTES = 1024 * 1024


def today() -> datetime.date:
    """Today's date in UTC: what waivers' expiry dates are compared with."""
    return datetime.datetime.now(datetime.timezone.utc).date()


@dataclass(frozen=True)
class Waiver:
    """One exception: the error about ``consumer``'s ``contract`` ``field`` in ``environment`` is a
    warning through ``expires`` (inclusive), on ``owner``'s word, for ``reason``. ``source`` is where it
    was written (``file:N``, its position in the file)."""

    consumer: str
    contract: str
    field: str
    environment: str
    owner: str
    reason: str
    expires: datetime.date
    source: str

    def covers(self, finding: Finding) -> bool:
        """Whether this waiver names ``finding`` (an error about a field)."""
        return (
            finding.severity == "error"
            and finding.kind.startswith("field-")
            and (finding.consumer, finding.contract, finding.field, finding.environment)
            == (self.consumer, self.contract, self.field, self.environment)
        )

    def expired(self, on: datetime.date) -> bool:
        return on > self.expires

    def signed(self) -> str:
        return f"by {self.owner} until {self.expires.isoformat()}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {
            "consumer": self.consumer,
            "contract": self.contract,
            "field": self.field,
            "environment": self.environment,
            "owner": self.owner,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "source": self.source,
        }


def load(path: str | Path) -> tuple[Waiver, ...]:
    """The waivers of one file; a :class:`ManifestError` naming the file (and the waiver) when it cannot
    be read, is not TOML, or holds a waiver that is malformed."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read this waiver file ({exc.strerror or exc})") from exc
    if len(raw) > MAX_BYTES:
        raise ManifestError(f"{path}: a waiver file larger than {MAX_BYTES} bytes")
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ManifestError(f"{path}: not a TOML waiver file ({exc})") from exc
    unknown = sorted(set(document) - {"waiver"})
    if unknown:
        raise ManifestError(f"{path}: unknown table {unknown[0]!r}: a waiver file holds [[waiver]] tables only")
    tables = document.get("waiver", [])
    if not isinstance(tables, list):
        raise ManifestError(f"{path}: 'waiver' must be an array of tables ([[waiver]])")
    waivers = [_waiver(table, f"{path}:{index}") for index, table in enumerate(tables, start=1)]
    seen: dict[tuple[str, ...], str] = {}
    for waiver in waivers:
        key = (waiver.consumer, waiver.contract, waiver.field, waiver.environment)
        if key in seen:
            raise ManifestError(f"{waiver.source}: waives what {seen[key]} waives already (one waiver per finding)")
        seen[key] = waiver.source
    return tuple(waivers)


def _waiver(table: Any, source: str) -> Waiver:
    if not isinstance(table, dict):
        raise ManifestError(f"{source}: a waiver must be a table ([[waiver]])")
    missing = [key for key in KEYS if key not in table]
    if missing:
        raise ManifestError(f"{source}: a waiver needs {', '.join(missing)} (every one of {', '.join(KEYS)})")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ManifestError(f"{source}: unknown key {unknown[0]!r} (a waiver has {', '.join(KEYS)})")
    expires = table["expires"]
    if isinstance(expires, str):
        try:
            expires = datetime.date.fromisoformat(expires)
        except ValueError:
            expires = None
    if not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        raise ManifestError(f"{source}: expires must be a date such as 2026-03-31, not {table['expires']!r}")
    for key in KEYS[:-1]:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise ManifestError(f"{source}: {key} must be a non-empty string, not {value!r}")
    try:
        ContractRef.parse(table["contract"])
    except ContractError as exc:
        raise ManifestError(f"{source}: contract {table['contract']!r} is not a contract version: {exc}") from exc
    text = {key: table[key].strip() for key in KEYS[:-1]}
    return Waiver(text["consumer"], text["contract"], text["field"], text["environment"], text["owner"], text["reason"],
                  expires, source)  # fmt: skip


def discover(paths: Iterable[str | Path]) -> tuple[Waiver, ...]:
    """The waivers of every ``waivers.toml`` beside ``paths`` (the ``--with`` manifests: in a directory
    given, or in the directory of a file given), each file read once, in the order found."""
    found: list[Waiver] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        candidate = (path if path.is_dir() else path.parent) / FILE
        if candidate.is_file() and candidate.resolve() not in seen:
            seen.add(candidate.resolve())
            found += load(candidate)
    return tuple(found)


def deploy_findings(
    candidate: Manifest, environment: str, deployed: Sequence[Manifest], *, external: Iterable[str] = ()
) -> list[Finding]:
    """Every finding of ``environment`` once ``candidate`` replaces its service there: what a waiver for
    that environment may match (a waiver about another service is in use, not unused, when a deploy
    does not concern it)."""
    moved = Manifest(candidate.service, environment, candidate.declarations, candidate.contracts, candidate.source)
    others = [m for m in deployed if m.environment == environment and m.service != candidate.service]
    return environment_findings(environment, [*others, moved], external=external)


class Ledger:
    """The waivers of one ``environment`` on one day, and what each matched: :meth:`waives` decides one
    finding, :meth:`judge` a list, :meth:`findings` says what is wrong with the waivers themselves."""

    def __init__(self, waivers: Iterable[Waiver], environment: str, *, on: datetime.date | None = None) -> None:
        self.environment = environment
        self.on = today() if on is None else on
        mine = sorted((w for w in waivers if w.environment == environment), key=lambda w: w.source)
        self.active = [w for w in mine if not w.expired(self.on)]
        self.lapsed = [w for w in mine if w.expired(self.on)]
        self.matched: dict[Waiver, list[Finding]] = {w: [] for w in self.active}
        self.in_use: set[Waiver] = set()

    def waiver_of(self, finding: Finding) -> Waiver | None:
        """The unexpired waiver that covers ``finding``, remembering that it was applied to it."""
        for waiver in self.active:
            if waiver.covers(finding):
                if finding not in self.matched[waiver]:
                    self.matched[waiver].append(finding)
                return waiver
        return None

    def waives(self, finding: Finding) -> bool:
        return self.waiver_of(finding) is not None

    def seen(self, findings: Iterable[Finding]) -> None:
        """Note the waivers ``findings`` (what the environment shows) keep in use, without judging them."""
        for finding in findings:
            self.in_use.update(w for w in self.active if w.covers(finding))

    def judge(self, findings: Iterable[Finding], *, seen: Iterable[Finding] = ()) -> list[Finding]:
        """``findings`` with every waived error turned into a warning that says who waived it, why and
        until when, followed by :meth:`findings`; ``seen`` are other findings of the environment that
        keep a waiver in use."""
        judged = [self.waived(f) for f in findings]
        self.seen(seen)
        return judged + self.findings()

    def waived(self, finding: Finding) -> Finding:
        """``finding``, as a warning when a waiver covers it."""
        waiver = self.waiver_of(finding)
        if waiver is None:
            return finding
        return dataclasses.replace(
            finding, severity="warning", message=f"{finding.message} Waived {waiver.signed()} ({waiver.source})."
        )

    def applied(self) -> list[Finding]:
        """The findings waived so far, as warnings (what ``plan`` lists apart from its steps)."""
        return [self.waived(f) for w in self.active for f in self.matched[w]]

    def findings(self) -> list[Finding]:
        """An error for every expired waiver of the environment, a warning for every unused one."""
        found = []
        for waiver in self.lapsed:
            found.append(
                self._about(waiver, "error", "waiver-expired", f"the waiver of {self._what(waiver)} expired on "
                            f"{waiver.expires.isoformat()} (by {waiver.owner}: {waiver.reason}): what it covered is "
                            "an error again; renew it in a reviewed change, or fix the finding")
            )  # fmt: skip
        for waiver in self.active:
            if not self.matched[waiver] and waiver not in self.in_use:
                found.append(
                    self._about(waiver, "warning", "waiver-unused", f"the waiver of {self._what(waiver)} "
                                f"({waiver.signed()}) matches no finding: remove it")
                )  # fmt: skip
        return found

    def failed(self) -> bool:
        """Whether the waivers themselves fail the gate (one has expired)."""
        return bool(self.lapsed)

    def to_json(self) -> list[dict[str, Any]]:
        """Every waiver of the environment with its ``status``: ``applied`` (and the findings it
        ``matched``), ``in-use`` (the environment shows its finding, this gate did not judge it),
        ``unused`` or ``expired``."""
        rows = [{**w.to_json(), "status": "expired", "matched": []} for w in self.lapsed]
        rows += [
            {**w.to_json(), "status": "applied" if self.matched[w] else "in-use" if w in self.in_use else "unused",
             "matched": [f.message for f in self.matched[w]]}
            for w in self.active
        ]  # fmt: skip
        return sorted(rows, key=lambda row: row["source"])

    def _what(self, waiver: Waiver) -> str:
        return f"{waiver.consumer}'s {waiver.contract} {waiver.field} in {waiver.environment}"

    def _about(self, waiver: Waiver, severity: str, kind: str, message: str) -> Finding:
        return Finding(environment=self.environment, severity=severity, kind=kind, consumer=waiver.consumer,
                       handler="", contract=waiver.contract, field=waiver.field, message=f"{self.environment}: "
                       f"{message} ({waiver.source}).")  # fmt: skip


def add_argument(command: Any) -> None:
    """``--waivers FILE`` (can-deploy, plan)."""
    command.add_argument(
        "--waivers",
        metavar="FILE",
        help=f"the waiver file (TOML; default: a {FILE} beside the --with manifests): an unexpired waiver turns "
        "the error it names into a warning; an expired one is an error, an unused one a warning",
    )


def for_gate(args: Any, environment: str) -> Ledger:
    """The ledger a gate's command line asks for: ``--waivers FILE``, or the ``waivers.toml`` files
    beside the ``--with`` manifests, judged on today's date in UTC."""
    waivers = load(args.waivers) if getattr(args, "waivers", None) else discover(args.others or ())
    return Ledger(waivers, environment, on=today())
