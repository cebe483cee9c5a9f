"""The reporter's parsers on recorded command outputs and structure layouts, and its local files."""
import ast
import base64
import ctypes
import json
import os
import stat
import struct
from pathlib import Path

import pytest

from waken.reporter import waken_reporter as wr

REPORTER_FILE = Path(wr.__file__)
SEP = "\x1f"


def test_the_file_is_python_3_9_and_standard_library_only():
    tree = ast.parse(REPORTER_FILE.read_text(), feature_version=(3, 9))
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    import sys
    assert modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


# ---- X11: xprop, recorded under Xvfb + openbox (LC_ALL=C, as the reporter runs it)

def test_xprop_active_window():
    assert wr.parse_xprop_active("_NET_ACTIVE_WINDOW(WINDOW): window id # 0x400030\n") == "0x400030"
    assert wr.parse_xprop_active("_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0\n") is None
    assert wr.parse_xprop_active("_NET_ACTIVE_WINDOW:  not found.\n") is None
    assert wr.parse_xprop_active(None) is None


def test_xprop_window_utf8_title_and_pid():
    text = ('WM_CLASS(STRING) = "xmessage", "Xmessage"\n'
            '_NET_WM_NAME(UTF8_STRING) = "Caf\\303\\251 \\342\\200\\224 \\"x\\""\n'
            'WM_NAME(STRING) = "plain"\n'
            '_NET_WM_PID(CARDINAL) = 2540\n')
    assert wr.parse_xprop_window(text) == ("Xmessage", "xmessage", 'Café — "x"', 2540)


def test_xprop_window_without_pid_falls_back_to_wm_name():
    text = ('WM_CLASS(STRING) = "xmessage", "Xmessage"\n'
            "_NET_WM_NAME:  not found.\n"
            'WM_NAME(STRING) = "first title"\n'
            "_NET_WM_PID:  not found.\n")
    wm_class, instance, title, pid = wr.parse_xprop_window(text)
    assert (wm_class, instance, title, pid) == ("Xmessage", "xmessage", "first title", None)
    assert wr.process_name(pid, wm_class, instance) == "Xmessage"


def test_process_name_prefers_the_executable_unless_it_is_an_interpreter(tmp_path):
    (tmp_path / "41").mkdir()
    os.symlink("/usr/lib/firefox-esr/firefox-esr", tmp_path / "41" / "exe")
    (tmp_path / "42").mkdir()
    os.symlink("/usr/bin/python3.11", tmp_path / "42" / "exe")
    assert wr.process_name(41, "firefox-esr", "Navigator", proc=str(tmp_path)) == "firefox-esr"
    assert wr.process_name(42, "Zim", "zim", proc=str(tmp_path)) == "Zim"
    assert wr.process_name(43, "Code", "code", proc=str(tmp_path)) == "Code"


# ---- Wayland compositors

HYPRCTL = json.dumps({
    "address": "0x55d0c4f2a1b0", "mapped": True, "hidden": False, "at": [10, 40], "size": [1900, 1030],
    "workspace": {"id": 1, "name": "1"}, "floating": False, "monitor": 0, "class": "firefox",
    "title": "waken — Mozilla Firefox", "initialClass": "firefox", "initialTitle": "Mozilla Firefox",
    "pid": 4242, "xwayland": False, "pinned": False, "fullscreen": 0, "grouped": [], "swallowing": "0x0"},
    indent=4)


def test_hyprctl_activewindow():
    assert wr.parse_hyprctl(HYPRCTL) == ("firefox", "waken — Mozilla Firefox", 4242)
    assert wr.parse_hyprctl("Invalid") is None
    assert wr.parse_hyprctl("{}") is None


def _con(**fields):
    return {"type": "con", "focused": False, "nodes": [], "floating_nodes": [], **fields}


def _sway_tree(focused):
    """A `swaymsg -t get_tree` answer, trimmed to the keys sway always writes; `focused` = a con's id."""
    cons = [_con(id=4, name="~/src/waken", app_id="foot", pid=901),
            _con(id=5, name="Spotify Premium", app_id=None, pid=902,
                 window_properties={"class": "Spotify", "instance": "spotify", "title": "Spotify Premium"})]
    floating = [_con(id=6, type="floating_con", name="Picture-in-Picture", app_id="firefox", pid=903)]
    for con in cons + floating:
        con["focused"] = con["id"] == focused
    workspace = {"id": 3, "type": "workspace", "name": "1", "focused": focused == 3, "nodes": cons,
                 "floating_nodes": floating}
    return json.dumps({"id": 1, "type": "root", "name": "root", "focused": False, "floating_nodes": [], "nodes": [
        {"id": 2, "type": "output", "name": "eDP-1", "focused": False, "floating_nodes": [], "nodes": [workspace]}]})


def test_sway_tree_finds_the_focused_window_native_xwayland_or_floating():
    assert wr.parse_sway_tree(_sway_tree(5)) == ("Spotify", "Spotify Premium", 902)
    assert wr.parse_sway_tree(_sway_tree(4)) == ("foot", "~/src/waken", 901)
    assert wr.parse_sway_tree(_sway_tree(6)) == ("firefox", "Picture-in-Picture", 903)
    assert wr.parse_sway_tree(_sway_tree(3)) is None     # an empty workspace has focus


def test_kdotool_outputs():
    assert wr.parse_kdotool("org.kde.konsole\n", "~ : bash — Konsole\n", "3120\n") == (
        "org.kde.konsole", "~ : bash — Konsole", 3120)
    assert wr.parse_kdotool("", "", "") == (None, None, None)


def test_gnome_focused_window_extension_through_gdbus():
    text = ("('{\"title\":\"Calculator — it\\'s\",\"wm_class\":\"org.gnome.Calculator\","
            "\"wm_class_instance\":\"org.gnome.Calculator\",\"pid\":56643,\"id\":2274918779}',)\n")
    assert wr.parse_gnome_focused(text) == ("org.gnome.Calculator", "Calculator — it's", 56643)
    assert wr.parse_gnome_focused("('{}',)\n") is None
    assert wr.parse_gnome_focused(None) is None
    assert wr.parse_mutter_idle("(uint64 15234,)\n") == 15.234


# ---- macOS

def test_osascript_frontmost_app():
    assert wr.parse_osascript_front("Safari\nwaken — Home\n") == ("Safari", "waken — Home")
    assert wr.parse_osascript_front("Finder\n\n") == ("Finder", None)
    assert wr.parse_osascript_front("") is None


@pytest.mark.parametrize("text, expected", [
    ("Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4391011)\t76%; discharging; 4:12 remaining "
     "present: true\n", (76, False)),
    ("Now drawing from 'AC Power'\n -InternalBattery-0 (id=4391011)\t100%; charged; 0:00 remaining "
     "present: true\n", (100, True)),
    ("Now drawing from 'AC Power'\n -InternalBattery-0 (id=4391011)\t42%; charging; 1:10 remaining "
     "present: true\n", (42, True)),
    ("Now drawing from 'AC Power'\n", (None, None)),   # a Mac without a battery
])
def test_pmset_battery(text, expected):
    assert wr.parse_pmset(text) == expected


def test_ioreg_hid_idle_time():
    text = ('+-o Root  <class IORegistryEntry, id 0x100000100, retain 28>\n'
            '  +-o IOResources  <class IOResources, id 0x10000010b, registered, matched, active, busy 0>\n'
            '    +-o IOHIDSystem  <class IOHIDSystem, id 0x1000005b6, registered, matched, active, busy 0>\n'
            '      | {\n'
            '      |   "HIDIdleTime" = 724638916123\n'
            '      |   "HIDParameters" = {"HIDClickTime"=500000000}\n')
    assert wr.parse_ioreg_idle(text) == pytest.approx(724.638916123)
    assert wr.parse_ioreg_idle("") is None


def test_music_and_spotify_applescript_outputs():
    spotify = SEP.join(["Spotify", "playing", "Blinding Lights", "The Weeknd", "After Hours", "83.52", "200040",
                        "https://i.scdn.co/image/ab67616d0000b273ef017e899c0547766997d874"]) + "\n"
    track = wr.parse_mac_player(spotify)
    assert track == {"source": "Spotify", "title": "Blinding Lights", "artist": "The Weeknd",
                     "album": "After Hours", "status": "playing", "positionMs": 83520, "durationMs": 200040,
                     "art": "https://i.scdn.co/image/ab67616d0000b273ef017e899c0547766997d874"}
    music = SEP.join(["Music", "paused", "Song", "Artist", "Album", "12,5", "244,0", ""]) + "\n"
    assert wr.parse_mac_player(music) == {
        "source": "Music", "title": "Song", "artist": "Artist", "album": "Album", "status": "paused",
        "positionMs": 12500, "durationMs": 244000, "art": None}
    assert wr.parse_mac_player("") is None


# ---- Windows: structure layouts as the Win32 API fills them

def test_system_power_status_layout():
    assert ctypes.sizeof(wr.SYSTEM_POWER_STATUS) == 12
    assert [wr.SYSTEM_POWER_STATUS.BatteryLifePercent.offset, wr.SYSTEM_POWER_STATUS.BatteryLifeTime.offset] == [2, 4]
    charging = wr.SYSTEM_POWER_STATUS.from_buffer_copy(struct.pack("<BBBBII", 1, 8, 76, 0, 0xFFFFFFFF, 0xFFFFFFFF))
    assert wr.battery_from_power_status(charging) == (76, True)
    on_battery = wr.SYSTEM_POWER_STATUS.from_buffer_copy(struct.pack("<BBBBII", 0, 1, 64, 0, 9000, 0xFFFFFFFF))
    assert wr.battery_from_power_status(on_battery) == (64, False)
    desktop = wr.SYSTEM_POWER_STATUS.from_buffer_copy(struct.pack("<BBBBII", 1, 128, 255, 0, 0xFFFFFFFF, 0xFFFFFFFF))
    assert wr.battery_from_power_status(desktop) == (None, None)


def test_last_input_info_layout_and_tick_wraparound():
    assert ctypes.sizeof(wr.LASTINPUTINFO) == 8
    info = wr.LASTINPUTINFO.from_buffer_copy(struct.pack("<II", 8, 4_294_960_000))
    assert info.cbSize == 8
    assert wr.idle_from_last_input(2_704, info.dwTime) == pytest.approx(10.0)   # GetTickCount wrapped
    assert wr.idle_from_last_input(65_000, 5_000) == 60.0


def test_without_a_graphical_session_linux_says_why_and_never_reaches_win32():
    # ctypes.WinDLL does not exist on Linux: the module imported, and a Linux desktop never calls it.
    assert not hasattr(ctypes, "WinDLL")
    with pytest.raises(wr.Unavailable, match="no graphical session"):
        wr.Desktop(platform="linux", environ={}).foreground()


# ---- Linux battery and MPRIS

def _supply(root, name, **files):
    (root / name).mkdir()
    for key, value in files.items():
        (root / name / key).write_text(value + "\n")


def test_linux_battery_from_sysfs(tmp_path):
    _supply(tmp_path, "AC", type="Mains", online="0")
    _supply(tmp_path, "BAT0", type="Battery", capacity="81", status="Discharging")
    _supply(tmp_path, "BAT1", type="Battery", capacity="60", status="Discharging")
    _supply(tmp_path, "hidpp_battery_0", type="Battery", scope="Device", capacity="5", status="Discharging")
    assert wr.linux_battery(str(tmp_path)) == (70, False)
    (tmp_path / "AC" / "online").write_text("1\n")
    assert wr.linux_battery(str(tmp_path)) == (70, True)
    assert wr.linux_battery(str(tmp_path / "missing")) == (None, None)


def test_playerctl_picks_the_playing_player():
    recorded = (f"mpv{SEP}Playing{SEP}Sine Four-Forty{SEP}{SEP}{SEP}2693165{SEP}4040272{SEP}\n")
    assert wr.parse_playerctl(recorded) == {
        "source": "mpv", "title": "Sine Four-Forty", "artist": None, "album": None, "status": "playing",
        "positionMs": 2693, "durationMs": 4040, "art": None}
    both = (f"spotify{SEP}Paused{SEP}Song{SEP}A, B{SEP}LP{SEP}1000000{SEP}200000000{SEP}https://i.scdn.co/x\n"
            f"firefox{SEP}Playing{SEP}Video{SEP}{SEP}{SEP}5000000{SEP}{SEP}\n"
            f"chromium{SEP}Stopped{SEP}{SEP}{SEP}{SEP}{SEP}{SEP}\n")
    assert wr.parse_playerctl(both)["source"] == "firefox"
    assert wr.parse_playerctl(both)["durationMs"] is None
    assert wr.parse_playerctl(both.splitlines()[0])["artist"] == "A, B"
    assert wr.parse_playerctl("") is None


def test_a_local_cover_becomes_a_data_url_within_its_size_cap(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    (tmp_path / "cover.png").write_bytes(png)
    url = wr.cover_data_url((tmp_path / "cover.png").as_uri())
    assert url == "data:image/png;base64," + base64.b64encode(png).decode()
    assert wr.cover_data_url((tmp_path / "cover.png").as_uri(), max_bytes=100) is None
    (tmp_path / "notes.txt").write_text("not an image")
    assert wr.cover_data_url((tmp_path / "notes.txt").as_uri()) is None
    assert wr.cover_data_url("https://i.scdn.co/x") is None


# ---- set-up: the admin's integration config and reporter bundle, the settings file

def _b64(document):
    return base64.b64encode(json.dumps(document).encode()).decode()


INTEGRATION = {"version": 1, "exportedAt": "2026-05-01T12:00:00Z", "web": {"name": "waken"},
               "token": {"reportEndpoint": "https://pi.example/api/activity", "items": [
                   {"id": 1, "name": "old", "isActive": True, "createdAt": "…", "lastUsedAt": None, "token": None},
                   {"id": 2, "name": "laptop", "isActive": True, "createdAt": "…", "lastUsedAt": None,
                    "token": "wk_plain"}]}}


def test_setup_reads_the_integration_config_and_the_bundle():
    assert wr.decode_import(_b64(INTEGRATION)) == {
        "baseUrl": "https://pi.example", "token": "wk_plain", "tokenName": "laptop", "device": None}
    bundle = {"version": 1, "endpoint": "http://pi:8000/api/activity/", "apiKey": "abc", "tokenName": "PC"}
    assert wr.decode_import(_b64(bundle))["baseUrl"] == "http://pi:8000"
    assert wr.decode_import(json.dumps(bundle))["token"] == "abc"
    urlsafe = base64.urlsafe_b64encode(json.dumps({**bundle, "tokenName": "ü?>"}).encode()).decode().rstrip("=")
    assert wr.decode_import(urlsafe)["tokenName"] == "ü?>"


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("not base64 at all!", "neither a JSON object"),
    (_b64({**INTEGRATION, "token": {**INTEGRATION["token"], "items": [{"token": None}]}}), "carries no token"),
    (_b64({"apiKey": "x", "endpoint": "ftp://pi/api/activity"}), "no http(s) report endpoint"),
])
def test_setup_explains_what_is_wrong(text, says):
    with pytest.raises(wr.SetupError, match=says.replace("(", r"\(").replace(")", r"\)")):
        wr.decode_import(text)


def test_setup_stores_the_config_owner_only_and_keeps_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "waken" / "reporter.json"
    assert wr.config_path() == path
    assert wr.main(["setup", _b64(INTEGRATION), "--no-verify", "--name", "Laptop",
                    "--exclude", "keepassxc", "--hide-title", "firefox"]) == 0
    config = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config["key"].startswith("wwd-") and len(config["key"]) == 36
    assert (config["device"], config["exclude"], config["hideTitle"]) == ("Laptop", ["keepassxc"], ["firefox"])
    os.chmod(path, 0o644)
    assert wr.main(["setup", _b64(INTEGRATION), "--no-verify"]) == 0
    assert json.loads(path.read_text())["key"] == config["key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    wr.load_config(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_install_service_writes_a_systemd_unit_and_a_launchd_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path, commands = wr.install_service("/opt/w r/waken-reporter.py", platform="linux", home=tmp_path)
    assert path == tmp_path / "config" / "systemd" / "user" / "waken-reporter.service"
    unit = path.read_text()
    assert '-I" "/opt/w r/waken-reporter.py" "run"' in unit and "WantedBy=default.target" in unit
    assert commands[-1] == ["systemctl", "--user", "enable", "--now", "waken-reporter.service"]
    path, commands = wr.install_service("/opt/waken-reporter.py", "/opt/r.json", platform="darwin", home=tmp_path)
    import plistlib
    agent = plistlib.loads(path.read_bytes())
    assert path == tmp_path / "Library" / "LaunchAgents" / "org.waken.reporter.plist"
    assert agent["ProgramArguments"][1:] == ["-I", "/opt/waken-reporter.py", "--config", "/opt/r.json", "run"]
    assert agent["RunAtLoad"] and agent["KeepAlive"]
    assert commands[0][:2] == ["launchctl", "bootstrap"]


# ---- the report: privacy, covers, heartbeat, idle, backoff

class RecordedDesktop:
    """What an operating system would answer, fixed by the test (the OS is not ours to run here)."""

    def __init__(self, window=("code", "main.py"), track=None, idle=0.0):
        self.window, self.track, self.idle = window, track, idle

    def foreground(self):
        return self.window

    def battery(self):
        return 55, False

    def idle_seconds(self):
        return self.idle

    def media(self):
        return self.track


CONFIG = {"baseUrl": "http://127.0.0.1:9", "token": "t", "key": "wwd-" + "0" * 32, "device": "Laptop",
          "exclude": ["KeePassXC"], "hideTitle": ["firefox"]}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _dry_run(desktop, clock):
    import io
    out = io.StringIO()
    return wr.Reporter(dict(CONFIG), desktop, client=None, out=out, clock=clock), out


def _printed(out):
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_privacy_exclude_and_hide_title():
    assert wr.build_report(CONFIG, ("keepassxc.exe", "Passwords"), (None, None), None, {}) is None
    body = wr.build_report(CONFIG, ("firefox", "bank statement"), (55, False), None, {})
    assert body["process_title"] is None and body["process_name"] == "firefox"
    assert set(body) == {"generatedHashKey", "device", "device_type", "process_name", "process_title",
                         "battery_level", "is_charging", "push_mode", "metadata"}


def test_reports_on_change_and_heartbeats_every_minute(tmp_path):
    clock = Clock()
    desktop = RecordedDesktop()
    reporter, out = _dry_run(desktop, clock)
    reporter.step()
    clock.now += 30
    reporter.step()                    # nothing changed, no heartbeat yet
    desktop.window = ("code", "other.py")
    reporter.step()                    # the title changed: at once
    clock.now += 59
    reporter.step()
    clock.now += 1
    reporter.step()                    # 60 s since the last report: heartbeat
    assert [b["process_title"] for b in _printed(out)] == ["main.py", "other.py", "other.py"]


def test_idle_stops_heartbeats():
    clock = Clock()
    desktop = RecordedDesktop()
    reporter, out = _dry_run(desktop, clock)
    reporter.step()
    desktop.idle = 10 * 60
    clock.now += 120
    reporter.step()
    desktop.window = ("code", "changed while away")
    reporter.step()
    assert len(_printed(out)) == 1
    desktop.idle = 3
    reporter.step()
    assert len(_printed(out)) == 2


def test_a_local_cover_is_sent_once_per_track(tmp_path):
    (tmp_path / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    track = {"source": "mpv", "title": "Tone", "artist": "A", "album": "B", "status": "playing",
             "positionMs": 1000, "durationMs": 30000, "art": (tmp_path / "cover.png").as_uri()}
    clock = Clock()
    desktop = RecordedDesktop(track=track)
    reporter, out = _dry_run(desktop, clock)
    reporter.step()
    clock.now += 60
    reporter.step()
    desktop.track = {**track, "title": "Next"}
    reporter.step()
    covers = ["coverDataUrl" in b["metadata"]["media"] for b in _printed(out)]
    assert covers == [True, False, True]
    media = _printed(out)[0]["metadata"]["media"]
    assert media["singer"] == media["artist"] == "A" and _printed(out)[0]["metadata"]["play_source"] == "mpv"


def test_an_unreachable_server_backs_off_and_sends_only_the_latest_state():
    clock = Clock()
    desktop = RecordedDesktop()
    client = wr.Client("http://127.0.0.1:9", "t", timeout=2)   # the discard port: nothing listens
    reporter = wr.Reporter(dict(CONFIG), desktop, client, clock=clock)
    first = reporter.step()
    assert first.status == 0 and "cannot reach" in first.message
    waits = [reporter.retry_at - clock.now]
    desktop.window = ("code", "newer")
    assert reporter.step() is None          # within the backoff: nothing is queued, nothing sent
    clock.now = reporter.retry_at
    reporter.step()
    waits.append(reporter.retry_at - clock.now)
    for _ in range(6):
        clock.now = reporter.retry_at
        reporter.step()
    waits.append(reporter.retry_at - clock.now)
    assert waits == [4.0, 8.0, wr.BACKOFF_CAP_SECONDS]


def test_the_reporter_speaks_chinese_where_the_locale_does(monkeypatch):
    assert wr.chinese({"LANG": "zh_CN.UTF-8"}) and wr.chinese({"WAKEN_LANG": "zh-CN", "LANG": "en_US.UTF-8"})
    assert not wr.chinese({"LANG": "en_US.UTF-8"}) and not wr.chinese({})
    assert not wr.chinese({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"})   # LC_ALL wins, as for every program
    client = wr.Client("http://127.0.0.1:1", "t")
    body = b'{"success": false, "error": "Invalid API token.", "code": "auth.token_invalid", "params": {}}'
    monkeypatch.setenv("WAKEN_LANG", "zh_CN")
    assert "无效的 API Token" in client._answer(401, body, {}).message
    unknown = b'{"success": false, "error": "Something new.", "code": "brand.new"}'
    assert "Something new." in client._answer(400, unknown, {}).message
    monkeypatch.setenv("WAKEN_LANG", "en")
    assert "Invalid API token." in client._answer(401, body, {}).message
