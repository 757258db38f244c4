"""ARI and AMI users as the doctor keeps them: what is wrong with a password, never the password itself.

A configuration read over AMI (``GetConfig`` of ari.conf or manager.conf) holds the passwords in
plain text; ``ari_accounts`` and ``ami_accounts`` judge each one and keep only the verdict, so no
password reaches a finding, a report, its JSON or a log.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Passwords published in sample configurations: a user that has one has no secret at all.
#: Looked up in asterisk/asterisk's configs/samples and in this kit's own history.
SAMPLE_PASSWORDS = {
    "mysecret": "Asterisk's manager.conf.sample ([mark] secret = mysecret)",
    "1234": "Asterisk's users.conf.sample (secret = 1234)",
    "password": "Asterisk's websocket_client.conf.sample (password = password)",
    "vicifast-lab": "the first edition of this kit's docker/lab.env (ARI_PASSWORD and AMI_SECRET)",
    "vicifast-phone": "the first edition of this kit's docker/lab.env (SIP_PASSWORD)",
}

#: Shorter than this is trivially weak for a password that any program reaching the port may try.
MIN_LENGTH = 12

#: A verdict on a password: one of these, never the password.
SAMPLE, WEAK, OK, HASHED = "sample", "weak", "ok", "hashed"

#: Keys of a section that limit where a user may connect from.
ACL_KEYS = ("permit", "deny", "acl")


@dataclass(frozen=True)
class Account:
    """One ARI or AMI user: its name, the verdict on its password, its rights and whether an ACL limits it."""

    name: str
    password: str                                   # SAMPLE, WEAK, OK or HASHED
    same_password_as: tuple[str, ...] = ()          # other users of the same file with the very same password
    read_only: bool | None = None                   # ARI users
    write: tuple[str, ...] = ()                     # AMI users: their write classes
    acl: bool = False


def verdict(user: str, password: str, hashed: bool = False) -> str:
    """SAMPLE, WEAK, OK (or HASHED for a crypt(3) password, which is not compared) for one user's password."""
    if hashed:
        return HASHED
    if password in SAMPLE_PASSWORDS:
        return SAMPLE
    if len(password) < MIN_LENGTH or password.lower() == user.lower() or len(set(password)) == 1:
        return WEAK
    return OK


def _value(items: list[tuple[str, str]], key: str, default: str = "") -> str:
    """The last value of key in a section's items (Asterisk keeps the last)."""
    found = [value for name, value in items if name.lower() == key]
    return found[-1] if found else default


def _yes(text: str) -> bool:
    """Asterisk's true values: yes, true, on, 1."""
    return text.strip().lower() in ("yes", "true", "on", "1", "y", "t")


def _shared(passwords: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """For each user, the other users whose password is exactly the same (empty passwords left out)."""
    return {user: tuple(other for other, theirs in passwords.items() if other != user and theirs == mine and mine)
            for user, mine in passwords.items()}


def ari_accounts(sections: list[tuple[str, list[tuple[str, str]]]]) -> list[Account]:
    """The ARI users of ari.conf (GetConfig's sections), their passwords judged and dropped."""
    users = [(name, items) for name, items in sections if _value(items, "type") == "user"]
    passwords = {name: _value(items, "password") for name, items in users}
    shared = _shared(passwords)
    return [Account(name, verdict(name, passwords[name], _value(items, "password_format").lower() == "crypt"),
                    shared[name], read_only=_yes(_value(items, "read_only", "no")),
                    acl=any(key.lower() in ACL_KEYS for key, _ in items))
            for name, items in users]


def ami_accounts(sections: list[tuple[str, list[tuple[str, str]]]]) -> list[Account]:
    """The AMI users of manager.conf (GetConfig's sections), their secrets judged and dropped."""
    users = [(name, items) for name, items in sections if name and name.lower() != "general"]
    passwords = {name: _value(items, "secret") for name, items in users}
    shared = _shared(passwords)
    return [Account(name, verdict(name, passwords[name]), shared[name],
                    write=tuple(c.strip().lower() for c in _value(items, "write").split(",") if c.strip()),
                    acl=any(key.lower() in ACL_KEYS for key, _ in items))
            for name, items in users]
