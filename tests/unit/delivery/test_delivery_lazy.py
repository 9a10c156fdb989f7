"""The simulator's naming regexes, compiled at the first ACL that needs them, name the user
the eagerly compiled ones named."""

from __future__ import annotations

from validator.catalogue import load_catalogue
from validator.check import Checker
from validator.delivery.matcher import personalize, uses_me
from validator.delivery.simulate import Simulator

CHECKER = Checker(load_catalogue())
X = "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2"
Y = "2e752722-0864-4665-887d-a78a024cf7c7"


def _acls(sim):
    for acl in sim.user_acls:
        if uses_me(acl):
            filled = personalize(acl, X).replace("*", "w").replace("#", "a.b")
            yield from (filled, filled + ".x", filled.replace(X, "nope"), "x." + filled)
    yield from ("events.calls." + X, "events.nobody", "")


def test_a_fresh_simulator_names_the_user_an_eager_one_names():
    eager = Simulator(CHECKER)
    eager._named = [eager._naming_regex(a) for a in eager.user_acls if uses_me(a)]
    assert eager._named  # the default user policy names `me`
    for acl in _acls(eager):
        for concerned in (Y, None, X):
            lazy = Simulator(CHECKER)
            assert lazy.audience(acl, concerned) == eager.audience(acl, concerned), acl
    lazy = Simulator(CHECKER)
    assert [r.pattern for r in lazy.named_regexes()] == [r.pattern for r in eager._named]
