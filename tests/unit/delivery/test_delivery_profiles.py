"""specs/profiles.yaml and specs/delivery.yaml: the 17.08 default user policy, an admin, who
each event concerns, and one-line errors for broken files."""

from __future__ import annotations

import pytest

from validator.catalogue import load_catalogue
from validator.delivery.profiles import ProfileError, load_concerns, load_profiles

CATALOGUE = load_catalogue()

FACTS_USER_ACLS = ["events.calls.me", "events.chat.message.*.me", "events.config.users.me.#",
                   "events.statuses.*", "events.users.me.#", "events.directory.me.#"]


def test_default_profiles_hold_the_17_08_policy_and_an_admin():
    profiles = load_profiles()
    assert set(FACTS_USER_ACLS) <= set(profiles.user.acl)
    assert "websocketd" in profiles.user.acl and profiles.user.uses_me
    assert "events.#" in profiles.admin.acl and not profiles.admin.uses_me
    assert (profiles.user_profile, profiles.admin_profile) == ("user", "admin")


def test_concerns_cover_every_event_with_a_user_acl_and_expand_families():
    concerns = load_concerns(CATALOGUE)
    assert concerns["chat_message_event"] == ("data", "to", 1)
    assert concerns["users_forwards_busy_updated"] == ("data", "user_uuid")
    assert concerns["users_services_incallfilter_updated"] == ("data", "user_uuid")
    for spec in CATALOGUE.events:
        if spec.required_acl and "{user_uuid}" in spec.required_acl:
            assert all(n in concerns for n, _ in spec.concrete_names()), spec.key


@pytest.mark.parametrize("text, message", [
    ("profiles: {u: {acl: [a]}}\nsimulation: {user_profile: u, admin_profile: nope}\n",
     "simulation.admin_profile: 'nope' is not a profile of the file"),
    ("profiles: {u: {acl: a}}\n", "profiles.u.acl: 'a' is not of type 'array'"),
    ("profiles: {u: {acl: ['']}}\n", "profiles.u.acl.0: '' should be non-empty"),
    ("profiles: {u: {acl: [a], extra: 1}}\n", "profiles.u: Additional properties"),
    ("profiles: [\n", "line 2, column 1"),
    ("profiles: {u: {acl: [a]}}\n", "simulation: the file names no user and admin profiles"),
])
def test_broken_profiles_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profiles(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_profile_file_needs_no_simulation_section(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("profiles: {ops: {acl: ['events.statuses.*']}}\n")
    assert load_profiles(path, simulation=False).profiles["ops"].acl == ("events.statuses.*",)


@pytest.mark.parametrize("text, message", [
    ("concerns: {no_such_event: data.user_uuid}\n", "concerns.no_such_event: not an event"),
    ("concerns: {call_created: user_uuid}\n", "concerns.call_created: 'user_uuid' does not match"),
    ("nothing: 1\n", "'concerns' is a required property"),
])
def test_broken_concerns_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_concerns(CATALOGUE, path)
    assert message in str(info.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(ProfileError, match="cannot read the profiles file"):
        load_profiles(tmp_path / "missing.yaml")


def test_another_catalogue_skips_the_events_it_lacks(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("concerns: {no_such_event: data.user_uuid, call_created: data.user_uuid}\n")
    assert load_concerns(CATALOGUE, path, strict=False) == {"call_created": ("data", "user_uuid")}
