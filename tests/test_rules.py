"""Media source rules: the `rule` commands and the functions the admin form calls."""
import pytest

from waken.db import orm
from waken.devices import rules
from waken.errors import Invalid, NotFound


def run(runner, *args):
    return runner.invoke(args=["rule", *args])


def test_add_list_delete(runner):
    assert run(runner, "add", "Spotify.exe", "--block").exit_code == 0
    assert run(runner, "add", "cloudmusic.exe", "--rename", "NetEase Music").exit_code == 0
    assert runner.invoke(args=["settings", "set", "media_play_source_blocklist", "old-player"]).exit_code == 0

    listing = run(runner, "list").output.splitlines()
    assert [line.split("\t")[1:] for line in listing] == [
        ["cloudmusic.exe", "rename → NetEase Music"],
        ["Spotify.exe", "block"],
        ["old-player", "block (legacy setting media_play_source_blocklist)"],
    ]

    result = run(runner, "delete", "SPOTIFY.EXE")
    assert result.exit_code == 0 and "Spotify.exe" in result.output
    assert "Spotify.exe" not in run(runner, "list").output


@pytest.mark.parametrize("args, message", [
    (["add", "x"], "exactly one of --block or --rename"),
    (["add", "x", "--block", "--rename", "X"], "exactly one of --block or --rename"),
    (["add", "  ", "--block"], "A play source is required"),
    (["add", "x", "--rename", "   "], "needs the label"),
    (["add", "x", "--rename", "L" * 129], "at most 128 characters"),
    (["add", "SPOTIFY.exe", "--block"], "already has a rule"),
    (["delete", "nothing-here"], "There is no rule for the play source 'nothing-here'."),
])
def test_bad_commands_explain_themselves(runner, args, message):
    assert run(runner, "add", "spotify.exe", "--block").exit_code == 0
    result = run(runner, *args)
    assert result.exit_code != 0
    assert message in result.output


def test_functions_for_the_admin_form(app):
    with app.app_context():
        rule = rules.add_rule(" Spotify ", "Block", "ignored label")
        orm.session.commit()
        assert (rule.source, rule.action, rule.label) == ("Spotify", "block", None)

        rules.update_rule(rule.id, "spotify", "rename", "Spotify Music")
        other = rules.add_rule("vlc", "block")
        orm.session.commit()
        assert [(r.source, r.action, r.label) for r in rules.list_rules()] == [
            ("spotify", "rename", "Spotify Music"), ("vlc", "block", None)]
        assert rules.active_rules().label("SPOTIFY") == "Spotify Music"
        assert rules.active_rules().is_blocked("VLC")

        with pytest.raises(Invalid, match="already has a rule"):
            rules.update_rule(other.id, "Spotify", "block")
        orm.session.rollback()
        rules.delete_rule(other.id)
        orm.session.commit()
        with pytest.raises(NotFound, match="no media source rule with id"):
            rules.delete_rule(other.id)
        assert not rules.active_rules().is_blocked("vlc")
