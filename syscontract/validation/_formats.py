"""The ``format`` values syscontract asserts: ``date-time``, ``date``, ``email``, ``uuid``, ``ipv4``.

Each check takes a ``str`` and answers whether it is a valid instance of the format, following the
RFC the JSON Schema specification names (RFC 3339 for dates and times, RFC 5321 for e-mail
addresses, RFC 4122 for UUIDs, RFC 2673 dotted-quad for IPv4). Digits are ASCII digits only.
Any other ``format`` is refused when a validator is compiled: asserting it wrongly or ignoring it
would both be silent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

__all__ = ["FORMATS"]

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IPV4 = re.compile(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})")
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def is_date(text: str) -> bool:
    """RFC 3339 ``full-date``: ``2024-02-29``."""
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    return 1 <= month <= 12 and 1 <= day <= _days(year, month)


def is_date_time(text: str) -> bool:
    """RFC 3339 ``date-time``: a full date, ``T``, a time with seconds, a ``Z`` or numeric offset.
    A leap second (``:60``) is valid only at 23:59 UTC."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return False
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    hour, minute, second = int(match[4]), int(match[5]), int(match[6])
    if not (1 <= month <= 12 and 1 <= day <= _days(year, month)):
        return False
    if hour > 23 or minute > 59 or second > 60:
        return False
    offset = 0
    if match[7] is not None:
        off_hour, off_minute = int(match[8]), int(match[9])
        if off_hour > 23 or off_minute > 59:
            return False
        offset = (off_hour * 60 + off_minute) * (1 if match[7] == "+" else -1)
    if second == 60:
        return (hour * 60 + minute - offset) % 1440 == 23 * 60 + 59
    return True


def is_uuid(text: str) -> bool:
    """RFC 4122 textual form: 8-4-4-4-12 hexadecimal digits, any case, any version."""
    return _UUID.fullmatch(text) is not None


def is_ipv4(text: str) -> bool:
    """A dotted-quad IPv4 address: four decimal octets 0-255, no leading zeros, nothing else."""
    match = _IPV4.fullmatch(text)
    return match is not None and all(int(part) <= 255 for part in match.groups())


def is_email(text: str) -> bool:
    """An RFC 5321 ``Mailbox``: a dot-atom or quoted local part, ``@``, and a host name or an address
    literal (``[192.0.2.1]``, ``[IPv6:::1]``)."""
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(text) > 320:
        return False
    if _ATOM.fullmatch(local) is None and _QUOTED.fullmatch(local) is None:
        return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal[:5].lower() == "ipv6:":
            try:
                ipaddress.IPv6Address(literal[5:])
            except ValueError:
                return False
            return "%" not in literal
        return is_ipv4(literal)
    labels = domain.split(".")
    return len(domain) <= 253 and all(_LABEL.fullmatch(label) is not None for label in labels)


FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "date": is_date,
    "email": is_email,
    "uuid": is_uuid,
    "ipv4": is_ipv4,
}
"""The asserted formats, by the name a schema gives them."""
