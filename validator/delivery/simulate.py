"""Who receives one message through xivo-websocketd 17.08, and who the page says should.

The population simulated: every user of the server holds the default user policy with
`me` its own UUID, and an admin holds the admin profile (specs/profiles.yaml). For one
message the simulator finds its actual audience (its required_acl as websocketd dispatches
it) and its expected audience (the event's documented ACL template filled from the message's
own data), each one of: no client, admins only, one user, every user, every client. When
they differ, a Consequence says how in plain words, with an info code of
validator/delivery/codes.py. docs/delivery.md explains the rules.
"""

from __future__ import annotations

import re

from ..catalogue import default_catalogue_path
from ..findings import Finding
from ..record import Record
from . import codes as DC
from .matcher import (
    ABSENT,
    DROPPED,
    NULL,
    Dispatch,
    Token,
    acl_pattern,
    dispatch_of,
    personalize,
    uses_me,
)
from .profiles import Profiles, load_concerns, load_profiles

# Audience kinds, from the narrowest to the widest.
NOBODY, ADMINS, USER, ALL_USERS, EVERYONE = "nobody", "admins", "user", "all_users", "everyone"
RANK = {NOBODY: 0, ADMINS: 1, USER: 2, ALL_USERS: 3, EVERYONE: 4}
# Why an audience is NOBODY.
CAUSE_ABSENT, CAUSE_DROPPED, CAUSE_UNMATCHED, CAUSE_UNDOCUMENTED = (
    "absent", "dropped", "unmatched", "undocumented")

ABSENT_WORDS = "never delivered to any websocket client (required_acl absent)"
NULL_WORDS = "delivered to every client (null ACL)"
UNDOCUMENTED_WORDS = ("the page documents no required_acl (by the page no websocket client "
                      "receives it)")
# Auth ids of users the ACL cannot name: "any other user" of the server.
_STRANGERS = ("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")
_ME_MARK = "\x00me\x00"
_AUDIENCE_CACHE = 8192


class Audience(Record):
    __slots__ = ("kind", "user", "cause", "acl", "why")

    def __init__(self, kind: str, user: str | None = None, cause: str = "",
                 acl: str | None = None, why: str = ""):
        self.kind = kind
        self.user = user    # USER: whose token receives it
        self.cause = cause  # NOBODY: why no one does
        self.acl = acl      # the required_acl it was computed from
        self.why = why      # DROPPED: websocketd's reason

    def reaches(self, user: str | None) -> bool:
        if user is None:
            return False
        return self.kind in (ALL_USERS, EVERYONE) or (self.kind == USER and self.user == user)

    def same_as(self, other: Audience) -> bool:
        return self.kind == other.kind and self.user == other.user

    def label(self, concerned: str | None) -> str:
        """The audience relative to the user the event concerns, for the statistics."""
        if self.kind == USER:
            return "concerned_user" if self.user == concerned else "other_user"
        return self.kind

    def words(self, concerned: str | None = None) -> str:
        """The actual delivery, in words."""
        if self.kind == NOBODY:
            if self.cause == CAUSE_ABSENT:
                return ABSENT_WORDS
            if self.cause == CAUSE_DROPPED:
                return f"never delivered to any websocket client (websocketd drops it: {self.why})"
            if self.cause == CAUSE_UNDOCUMENTED:
                return "no websocket client receives it (the page documents no required_acl)"
            return (f"delivered to no websocket client (no user's or admin's ACL matches "
                    f"{self.acl!r})")
        if self.kind == ADMINS:
            return f"delivered to admins only (no user's ACL matches {self.acl!r})"
        if self.kind == USER:
            if concerned is not None and self.user != concerned:
                return f"delivered to user {self.user} instead of {concerned}"
            whom = ", whom it concerns," if concerned is not None else ""
            return f"delivered to user {self.user}{whom} and to admins"
        if self.kind == ALL_USERS:
            return "delivered to every user and to admins"
        return NULL_WORDS

    def target(self) -> str:
        """The expected delivery, as the object of 'the page sends it to ...'."""
        if self.kind == NOBODY:
            return "no websocket client"
        if self.kind == ADMINS:
            return "admins only"
        if self.kind == USER:
            return f"the user {self.user}"
        if self.kind == ALL_USERS:
            return "every user"
        return "every client"


class Consequence(Record):
    __slots__ = ("code", "message", "erratum")

    def __init__(self, code: str, message: str, erratum: str | None = None):
        self.code = code
        self.message = message
        self.erratum = erratum

    def finding(self) -> Finding:
        return Finding(self.code, DC.SEVERITY, "$.required_acl", self.message, self.erratum)


class Delivery(Record):
    """One message's delivery: who receives it and who the page says should."""

    __slots__ = ("name", "documented", "concerned", "actual", "expected", "consequence")

    def __init__(self, name: str | None, documented: bool, concerned: str | None,
                 actual: Audience, expected: Audience | None,
                 consequence: Consequence | None = None):
        self.name = name
        self.documented = documented
        self.concerned = concerned
        self.actual = actual
        self.expected = expected  # None: the page's answer is unknown
        self.consequence = consequence

    @property
    def lost(self) -> bool:
        """The user the event concerns should receive it by the page and does not."""
        return (self.expected is not None and self.expected.reaches(self.concerned)
                and not self.actual.reaches(self.concerned))

    @property
    def words(self) -> str:
        return self.consequence.message if self.consequence else self.actual.words(self.concerned)

    def as_dict(self) -> dict:
        """For a per-message report line (ndjson)."""
        return {
            "actual": self.actual.label(self.concerned),
            "expected": self.expected.label(self.concerned) if self.expected else None,
            "concerns": self.concerned,
            "lost": self.lost,
            "code": self.consequence.code if self.consequence else None,
            "words": self.words,
        }


def consequence_of(actual: Audience, expected: Audience | None, concerned: str | None,
                   erratum: str | None = None) -> Consequence | None:
    """How the actual delivery differs from the page's, or None when it does not."""
    if expected is None or actual.same_as(expected):
        return None
    undocumented = expected.kind == NOBODY and expected.cause == CAUSE_UNDOCUMENTED
    if actual.kind == EVERYONE:
        tail = UNDOCUMENTED_WORDS if undocumented else f"the page restricts it to {expected.target()}"
        code, text = "W802", f"{NULL_WORDS} although {tail}"
    elif undocumented:
        code, text = "W806", f"{actual.words(concerned)} although {UNDOCUMENTED_WORDS}"
    elif actual.kind == NOBODY and actual.cause in (CAUSE_ABSENT, CAUSE_DROPPED):
        code = "W800" if actual.cause == CAUSE_ABSENT else "W803"
        text = f"{actual.words(concerned)}; the page sends it to {expected.target()}"
    elif actual.kind == USER and expected.kind == USER:
        code, text = "W801", f"delivered to user {actual.user} instead of {expected.user}"
    elif RANK[actual.kind] > RANK[expected.kind]:
        code = "W805"
        text = f"{actual.words(concerned)} although the page restricts it to {expected.target()}"
    else:
        code, text = "W804", f"{actual.words(concerned)}; the page sends it to {expected.target()}"
    if erratum:
        text = f"known deviation {erratum}: {text}"
    return Consequence(code, text, erratum)


def acl_erratum(findings) -> str | None:
    """The erratum that covers a message's ACL finding (A5xx), if any: its consequence is
    that erratum's."""
    for finding in findings:
        if finding.erratum and finding.code.startswith("A5"):
            return finding.erratum
    return None


def token_delivery(token: Token, dispatch: Dispatch) -> tuple[bool, str]:
    """(delivered, reason) for one client holding `token`, subscribed to the event."""
    if dispatch.kind == ABSENT:
        return False, ABSENT_WORDS
    if dispatch.kind == DROPPED:
        return False, f"never delivered to any websocket client (websocketd drops it: {dispatch.why})"
    if dispatch.kind == NULL:
        return True, NULL_WORDS
    matched = token.matching_acl(dispatch.acl)
    if matched is None:
        return False, f"required_acl {dispatch.acl!r} matches none of this token's ACLs"
    return True, f"required_acl {dispatch.acl!r} matches this token's ACL {matched!r}"


def _value_at(msg, path: tuple):
    node = msg
    for part in path:
        if type(part) is int and type(node) is list and 0 <= part < len(node) or type(node) is dict and part in node:
            node = node[part]
        else:
            return None
    return node


class Simulator:
    """Built once per run: the population's tokens and the catalogue's contract."""

    def __init__(self, checker, profiles: Profiles | None = None,
                 concerns: dict[str, tuple] | None = None):
        self.checker = checker
        catalogue = checker.catalogue
        self.profiles = profiles or load_profiles()
        if concerns is None:
            # specs/delivery.yaml is written for the bundled catalogue; another one
            # (--catalogue) may lack some of its events.
            concerns = load_concerns(catalogue, strict=catalogue.path == default_catalogue_path())
        self.concerns = concerns
        self.uuid_re = re.compile(catalogue.definitions["uuid"]["pattern"])
        self.user_acls = self.profiles.user.acl
        self.admin = Token(self.profiles.admin.acl, None)
        self._named = None  # the naming regexes (named_regexes), compiled when first needed
        self._audiences: dict[tuple, Audience] = {}
        self._any_user: dict[str, bool] = {}

    # -- the contract: the only place that uses the checker ------------------------
    def _contract_acl(self, name: str, msg: dict):
        """(documented, ACL): ACL is the filled template, None when the page documents no
        ACL, or False when unknown (a bound value is missing)."""
        return self.contract_of(self.checker.resolve(name), msg)

    @staticmethod
    def contract_of(hit, msg: dict):
        """_contract_acl from the checker's resolve() answer for the message's name."""
        if hit is None:
            return False, False
        compiled, name_values = hit
        if compiled.acl is None:
            return True, None
        filled = compiled.acl.fill(msg, name_values)
        return True, (filled if type(filled) is str else False)

    # -- audiences -------------------------------------------------------------------
    @staticmethod
    def _naming_regex(acl: str) -> re.Pattern:
        """A regex that captures, from a required ACL, the user this policy ACL would grant
        it to (a candidate the exact matcher then confirms)."""
        pieces = personalize(acl, _ME_MARK).split(_ME_MARK)
        body = [acl_pattern(p)[1:-1] for p in pieces]
        return re.compile("^" + "(?P<me>[^.]+)".join(body[:2]) + "".join(
            "(?P=me)" + b for b in body[2:]) + "$")

    def named_regexes(self) -> list[re.Pattern]:
        """The naming regex of each user policy ACL that names `me`, compiled at the first
        ACL neither every user nor the concerned one receives (~0.5 ms each)."""
        if self._named is None:
            self._named = [self._naming_regex(a) for a in self.user_acls if uses_me(a)]
        return self._named

    def _user_receives(self, acl: str, user: str) -> bool:
        return Token(self.user_acls, user).matching_acl(acl) is not None

    def _any_user_receives(self, acl: str) -> bool:
        """True when a user the ACL does not name receives it (every user does)."""
        hit = self._any_user.get(acl)
        if hit is None:
            stranger = next(s for s in _STRANGERS if s not in acl)
            hit = self._user_receives(acl, stranger)
            if len(self._any_user) >= _AUDIENCE_CACHE:
                self._any_user.clear()
            self._any_user[acl] = hit
        return hit

    def audience(self, acl: str, concerned: str | None) -> Audience:
        """Who receives a string required_acl among the simulated population."""
        key = (acl, concerned)
        hit = self._audiences.get(key)
        if hit is not None:
            return hit
        if self._any_user_receives(acl):
            out = Audience(ALL_USERS, acl=acl)
        elif concerned is not None and self._user_receives(acl, concerned):
            out = Audience(USER, concerned, acl=acl)
        else:
            named = None
            for regex in self._named or self.named_regexes():
                m = regex.match(acl)
                user = m.group("me") if m else None
                if user and self.uuid_re.match(user) and self._user_receives(acl, user):
                    named = user
                    break
            if named is not None:
                out = Audience(USER, named, acl=acl)
            elif self.admin.matching_acl(acl) is not None:
                out = Audience(ADMINS, acl=acl)
            else:
                out = Audience(NOBODY, cause=CAUSE_UNMATCHED, acl=acl)
        if len(self._audiences) >= _AUDIENCE_CACHE:
            self._audiences.clear()
        self._audiences[key] = out
        return out

    def actual(self, dispatch: Dispatch, concerned: str | None) -> Audience:
        if dispatch.kind == ABSENT:
            return Audience(NOBODY, cause=CAUSE_ABSENT)
        if dispatch.kind == DROPPED:
            return Audience(NOBODY, cause=CAUSE_DROPPED, why=dispatch.why)
        if dispatch.kind == NULL:
            return Audience(EVERYONE)
        return self.audience(dispatch.acl, concerned)

    def concerned_user(self, name: str, msg: dict) -> str | None:
        return self.concerned_at(self.concerns.get(name), msg)

    def concerned_at(self, path: tuple | None, msg: dict) -> str | None:
        """The UUID at `path` (the name's entry of specs/delivery.yaml), else None."""
        return self.user_of(_value_at(msg, path) if path else None)

    def user_of(self, value) -> str | None:
        """The value found where the event's user is: that user's UUID, when it is one."""
        return value if type(value) is str and self.uuid_re.match(value) else None

    # -- one message -----------------------------------------------------------------
    def simulate(self, body: bytes | None = None, result=None, *, msg=None) -> Delivery:
        """The delivery of one message: its raw body (or its decoded value, `msg`) and,
        when it was checked, the checker's result (for the errata that cover its ACL)."""
        dispatch = dispatch_of(body, msg) if body is not None else dispatch_of(msg=msg)
        name = dispatch.name
        if name is None:
            return Delivery(None, False, None, self.actual(dispatch, None), None)
        concerned = self.concerned_user(name, dispatch.msg)
        actual = self.actual(dispatch, concerned)
        documented, contract = self._contract_acl(name, dispatch.msg)
        if contract is None:
            expected = Audience(NOBODY, cause=CAUSE_UNDOCUMENTED)
        elif contract is False:
            expected = None
        else:
            expected = self.audience(contract, concerned)
        erratum = acl_erratum(result.findings) if result is not None else None
        return Delivery(name, documented, concerned, actual, expected,
                        consequence_of(actual, expected, concerned, erratum))
