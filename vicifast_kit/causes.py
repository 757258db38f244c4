"""Hang-up causes: the Q.850 numbers Asterisk reports (``cause`` in hang-up events) and what they mean."""

from __future__ import annotations

#: The causes a lab call meets, by number (the names Asterisk's ``cause_txt`` uses).
CAUSES: dict[int, str] = {
    0: "Not defined",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    22: "Number changed",
    27: "Destination out of order",
    28: "Invalid number format (incomplete number)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    44: "Requested channel not available",
    50: "Requested facility not subscribed",
    58: "Bearer capability not presently available",
    65: "Bearer capability not implemented",
    66: "Channel type not implemented",
    69: "Requested facility not implemented",
    79: "Service or option not implemented",
    88: "Incompatible destination",
    102: "Recovery on timer expiry",
    111: "Protocol error, unspecified",
    127: "Interworking, unspecified",
}


def cause_text(cause: int | str | None) -> str:
    """A hang-up cause as words: ``cause_text(16)`` -> "16 (Normal Clearing)"."""
    if cause is None or cause == "":
        return "unknown cause"
    try:
        number = int(cause)
    except (TypeError, ValueError):
        return str(cause)
    name = CAUSES.get(number)
    return f"{number} ({name})" if name else str(number)


def cause_phrase(cause: int | str | None) -> str:
    """A hang-up cause for a sentence: ``cause_phrase(16)`` -> "hang-up cause 16, Normal Clearing"."""
    if cause is None or cause == "":
        return "hang-up cause unknown"
    try:
        number = int(cause)
    except (TypeError, ValueError):
        return f"hang-up cause {cause}"
    name = CAUSES.get(number)
    return f"hang-up cause {number}, {name}" if name else f"hang-up cause {number}"
