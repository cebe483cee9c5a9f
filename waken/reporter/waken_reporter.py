#!/usr/bin/env python3
"""waken-reporter: tells a waken server which app this computer is using and what is playing.

One file, Python 3.9+ standard library only, so a laptop can fetch it from its own waken
server (GET /reporter/waken-reporter.py) and run it with `python3 -I` without installing
anything. The file is long for that reason; its sections are: settings file and set-up,
probes (each parser apart from the command it reads, so recorded outputs test it),
the report loop, service files, command line. Guide: docs/reporter.md in waken.
"""
import argparse
import base64
import binascii
import ctypes
import ctypes.util
import json
import ntpath
import os
import plistlib
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

VERSION = "dev"   # the server writes its own version here when it serves this file
DEVICE_TYPES = ("desktop", "tablet", "mobile")
POLL_SECONDS = 2.0            # how often the foreground window is read
HEARTBEAT_SECONDS = 60.0      # a realtime device is kept online by a report this often
IDLE_MINUTES = 10             # no input this long: heartbeats stop, the device goes offline
APPROVAL_POLL_SECONDS = 5.0   # how often a pending device asks whether it was approved
BACKOFF_CAP_SECONDS = 60.0    # the longest wait between attempts when the server fails
REQUEST_TIMEOUT = 15
COVER_MAX_BYTES = 2 * 1024 * 1024   # a local cover file larger than this is not sent
IMPORT_MAX_CHARS = 512 * 1024
SEP = "\x1f"                  # field separator in command output (never in titles)


class SetupError(Exception):
    """The configuration is missing or cannot be used; the message says what to do."""


class Unavailable(Exception):
    """A probe cannot read what it is for on this computer; the message says why."""


def log(message):
    """One line on standard error, with the time."""
    print(time.strftime("[%H:%M:%S] ") + message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- settings file

def config_path(explicit=None):
    """~/.config/waken/reporter.json ($XDG_CONFIG_HOME respected), %APPDATA%\\waken on Windows."""
    if explicit:
        return Path(explicit).expanduser()
    if os.name == "nt":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "waken" / "reporter.json"


def load_config(path):
    """The stored settings; SetupError when there are none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"No configuration at {path}: run `setup <integration config>` first.") from None
    if os.name != "nt" and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)   # the file holds a token: keep it the owner's alone
    config = json.loads(text)
    if not config.get("baseUrl") or not config.get("token") or not config.get("key"):
        raise SetupError(f"{path} is incomplete: run `setup <integration config>` again.")
    return config


def save_config(path, config):
    """Write the settings readable by the owner only (mode 0600), replacing the file whole."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(config, out, indent=2, ensure_ascii=False)
        out.write("\n")
    if os.name != "nt":
        os.chmod(temporary, 0o600)   # an old .tmp file keeps its mode through os.open
    os.replace(temporary, path)


def new_key():
    """A device key in the format waken's admin generates."""
    return f"wwd-{secrets.token_hex(16)}"


def _json_object(text):
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def decode_import(text):
    """The endpoint, token and names in an integration config or a reporter bundle (JSON or base64)."""
    text = (text or "").strip()
    if not text:
        raise SetupError("The integration config is empty.")
    if len(text) > IMPORT_MAX_CHARS:
        raise SetupError("The integration config is larger than 512 KiB; it cannot be one.")
    doc = _json_object(text)
    compact = "".join(text.split())
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        if doc is not None:
            break
        try:
            doc = _json_object(decode(compact + "=" * (-len(compact) % 4)).decode("utf-8"))
        except (ValueError, binascii.Error):
            continue
    if doc is None:
        raise SetupError("That is neither a JSON object nor base64 of one. Copy the whole text the "
                         "admin panel shows (Settings → Integration config, or API Token → Create token).")
    block = doc.get("token") if isinstance(doc.get("token"), dict) else {}
    items = block.get("items") if isinstance(block.get("items"), list) else []
    item = next((i for i in items if isinstance(i, dict) and isinstance(i.get("token"), str)
                 and i["token"].strip()), None)
    endpoint = block.get("reportEndpoint") or doc.get("endpoint")
    token = item["token"] if item else doc.get("apiKey")
    if not isinstance(endpoint, str) or not re.match(r"https?://", endpoint.strip(), re.I):
        raise SetupError("The integration config has no http(s) report endpoint.")
    if not isinstance(token, str) or not token.strip():
        raise SetupError("The integration config carries no token (stored tokens are kept hashed). "
                         "In the admin panel use Settings → Integration config with “mint a token”, "
                         "or API Token → Create token and copy its reporter bundle.")
    device = next((v.strip() for src in (block, doc) for k in ("deviceName", "device_name", "device")
                   for v in [src.get(k)] if isinstance(v, str) and v.strip()), None)
    base = re.sub(r"/api/activity/?$", "", endpoint.strip(), flags=re.I).rstrip("/")
    return {"baseUrl": base, "token": token.strip(),
            "tokenName": (item or {}).get("name") or doc.get("tokenName"), "device": device}


# ----------------------------------------------------------------------------- probes: commands

def run_command(args, timeout=5.0, env=None):
    """A command's standard output, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def _need(tool, package):
    if shutil.which(tool) is None:
        raise Unavailable(f"`{tool}` is not installed ({package}).")


# Interpreters and runtimes: their executable name says less than the window's class.
GENERIC_EXECUTABLES = re.compile(r"^(python[\d.]*|java|electron\d*|node|wine.*|mono|perl|ruby|"
                                 r"apprun.*|bwrap|flatpak.*)$", re.I)


def process_name(pid, wm_class=None, instance=None, proc="/proc"):
    """The executable of a window's process, or its window class when the executable says little."""
    name = None
    if pid:
        try:
            name = os.path.basename(os.readlink(f"{proc}/{int(pid)}/exe"))
        except (OSError, ValueError):
            try:
                name = Path(f"{proc}/{int(pid)}/comm").read_text().strip()
            except (OSError, ValueError):
                name = None
    if name and not GENERIC_EXECUTABLES.match(name):
        return name
    return wm_class or instance or name


def _c_unescape(text):
    # xprop writes non-ASCII bytes as C octal escapes (under LC_ALL=C, which we ask for).
    raw, i = bytearray(), 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            octal = re.match(r"[0-7]{1,3}", text[i + 1:i + 4])
            if octal:
                raw.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            raw += {"n": b"\n", "t": b"\t"}.get(text[i + 1], text[i + 1].encode("utf-8"))
            i += 2
            continue
        raw += text[i].encode("utf-8")
        i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _xprop_strings(value):
    return [_c_unescape(m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', value or "")]


def parse_xprop_active(text):
    """The window id in `xprop -root _NET_ACTIVE_WINDOW`, or None when no window is active."""
    match = re.search(r"window id # (0x[0-9a-fA-F]+)", text or "")
    return match.group(1) if match and int(match.group(1), 16) else None


def parse_xprop_window(text):
    """(wm_class, instance, title, pid) from `xprop -id ID WM_CLASS _NET_WM_NAME WM_NAME _NET_WM_PID`."""
    props = {}
    for line in (text or "").splitlines():
        match = re.match(r"^(\w+)\([\w ]+\) = (.*)$", line)
        if match:
            props[match.group(1)] = match.group(2)
    classes = _xprop_strings(props.get("WM_CLASS"))
    titles = _xprop_strings(props.get("_NET_WM_NAME")) or _xprop_strings(props.get("WM_NAME"))
    pid = props.get("_NET_WM_PID", "").strip()
    return (classes[1] if len(classes) > 1 else None, classes[0] if classes else None,
            titles[0] if titles else None, int(pid) if pid.isdigit() else None)


def x11_foreground():
    """The active window under X11 (EWMH _NET_ACTIVE_WINDOW, set by the window manager), via xprop."""
    _need("xprop", "Debian/Ubuntu: x11-utils")
    env = {**os.environ, "LC_ALL": "C"}
    window = parse_xprop_active(run_command(["xprop", "-root", "_NET_ACTIVE_WINDOW"], env=env))
    if window is None:
        raise Unavailable("no active window (_NET_ACTIVE_WINDOW is unset: is a window manager running?).")
    wm_class, instance, title, pid = parse_xprop_window(run_command(
        ["xprop", "-id", window, "WM_CLASS", "_NET_WM_NAME", "WM_NAME", "_NET_WM_PID"], env=env))
    return process_name(pid, wm_class, instance), title


def parse_hyprctl(text):
    """(class, title, pid) from `hyprctl activewindow -j`, or None when nothing has focus."""
    window = _json_object(text or "")
    if not window or not (window.get("class") or window.get("initialClass")):
        return None
    return window.get("class") or window.get("initialClass"), window.get("title"), window.get("pid")


def parse_sway_tree(text):
    """(app id or class, title, pid) of the focused window in `swaymsg -t get_tree`, or None."""
    stack = [_json_object(text or "") or {}]
    while stack:
        node = stack.pop()
        if node.get("focused") and node.get("pid"):
            app = node.get("app_id") or (node.get("window_properties") or {}).get("class")
            return app, node.get("name"), node.get("pid")
        stack.extend(node.get("nodes", []) + node.get("floating_nodes", []))
    return None


def parse_kdotool(class_text, name_text, pid_text):
    """(class, title, pid) from kdotool's getwindowclassname, getwindowname and getwindowpid."""
    wm_class = (class_text or "").strip() or None
    pid = (pid_text or "").strip()
    return wm_class, (name_text or "").rstrip("\n") or None, int(pid) if pid.isdigit() else None


def _gvariant_string(text):
    # gdbus prints ('...',): a single-quoted GVariant string with backslash escapes.
    match = re.match(r"^\(['\"](.*)['\"],\)$", (text or "").strip(), re.S)
    if not match:
        return None
    out, body, i = [], match.group(1), 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            if body[i + 1] == "u" and re.match(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"n": "\n", "t": "\t"}.get(body[i + 1], body[i + 1]))
            i += 2
            continue
        out.append(body[i])
        i += 1
    return "".join(out)


def parse_gnome_focused(text):
    """(class, title, pid) from the "Focused Window D-Bus" GNOME extension's Get, via gdbus."""
    window = _json_object(_gvariant_string(text) or "")
    if not window or not window.get("wm_class"):
        return None
    return window["wm_class"], window.get("title"), window.get("pid")


GNOME_FOCUSED = [("/org/gnome/shell/extensions/FocusedWindow", "org.gnome.shell.extensions.FocusedWindow.Get"),
                 ("/org/gnome/Shell/Extensions/FocusedWindow", "org.gnome.Shell.Extensions.FocusedWindow.Get")]


def wayland_foreground():
    """The focused window under Hyprland, Sway, KDE (kdotool) or GNOME (with an extension)."""
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").lower()
    if os.environ.get("HYPRLAND_INSTANCE_SIGNATURE"):
        _need("hyprctl", "part of Hyprland")
        window = parse_hyprctl(run_command(["hyprctl", "activewindow", "-j"]))
    elif os.environ.get("SWAYSOCK"):
        _need("swaymsg", "part of Sway")
        window = parse_sway_tree(run_command(["swaymsg", "-t", "get_tree"]))
    elif "kde" in desktop:
        _need("kdotool", "https://github.com/jinliu/kdotool")
        active = (run_command(["kdotool", "getactivewindow"]) or "").strip()
        window = active and parse_kdotool(*(run_command(["kdotool", command, active])
                                            for command in ("getwindowclassname", "getwindowname", "getwindowpid")))
    elif "gnome" in desktop:
        _need("gdbus", "libglib2.0-bin")
        window = None
        for path, method in GNOME_FOCUSED:
            window = parse_gnome_focused(run_command(["gdbus", "call", "--session", "--dest", "org.gnome.Shell",
                                                      "--object-path", path, "--method", method]))
            if window:
                break
        else:
            raise Unavailable("GNOME on Wayland tells no program which window has focus: install the "
                              "“Focused Window D-Bus” extension (see docs/reporter.md).")
    else:
        raise Unavailable(f"this Wayland desktop ({desktop or 'unknown'}) is not supported; "
                          "Hyprland, Sway, KDE and GNOME are.")
    if not window or not window[0]:
        raise Unavailable("no window has focus.")
    wm_class, title, pid = window
    return process_name(pid, wm_class), title


# macOS: System Events names the frontmost process; its front window's name needs the
# Accessibility permission (without it the title stays empty).
MAC_FRONT_SCRIPT = """
tell application "System Events"
    set frontProcess to first application process whose frontmost is true
    set appName to name of frontProcess
    set windowTitle to ""
    try
        set windowTitle to name of front window of frontProcess
    end try
end tell
return appName & linefeed & windowTitle
"""


def parse_osascript_front(text):
    """(app name, window title) from MAC_FRONT_SCRIPT's output, or None."""
    name, _, title = (text or "").rstrip("\n").partition("\n")
    return (name.strip(), title.strip() or None) if name.strip() else None


def mac_foreground():
    """The frontmost app and its window title, through osascript."""
    window = parse_osascript_front(run_command(["osascript", "-e", MAC_FRONT_SCRIPT]))
    if window is None:
        raise Unavailable("osascript could not name the frontmost app (allow the Automation "
                          "permission for System Events).")
    return window


# Windows: user32/kernel32 through ctypes. Explicit-width fields keep the layout the
# same on every platform, so tests check it on Linux.
class SYSTEM_POWER_STATUS(ctypes.Structure):
    _fields_ = [("ACLineStatus", ctypes.c_uint8), ("BatteryFlag", ctypes.c_uint8),
                ("BatteryLifePercent", ctypes.c_uint8), ("SystemStatusFlag", ctypes.c_uint8),
                ("BatteryLifeTime", ctypes.c_uint32), ("BatteryFullLifeTime", ctypes.c_uint32)]


class LASTINPUTINFO(ctypes.Structure):
    _fields_ = [("cbSize", ctypes.c_uint32), ("dwTime", ctypes.c_uint32)]


def _win32():
    # ctypes.WinDLL exists only on Windows; nothing else ever calls this.
    user32 = ctypes.WinDLL("user32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    user32.GetForegroundWindow.restype = ctypes.c_void_p
    user32.GetWindowTextLengthW.argtypes = [ctypes.c_void_p]
    user32.GetWindowTextW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p, ctypes.c_int]
    user32.GetWindowThreadProcessId.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    kernel32.OpenProcess.restype = ctypes.c_void_p
    kernel32.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
    kernel32.QueryFullProcessImageNameW.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_wchar_p,
                                                    ctypes.POINTER(ctypes.c_uint32)]
    kernel32.CloseHandle.argtypes = [ctypes.c_void_p]
    kernel32.GetTickCount.restype = ctypes.c_uint32
    return user32, kernel32


def windows_foreground():
    """The foreground window's title and its process image name (Code.exe)."""
    user32, kernel32 = _win32()
    hwnd = user32.GetForegroundWindow()
    if not hwnd:
        raise Unavailable("no window has focus.")
    length = user32.GetWindowTextLengthW(hwnd)
    title = ctypes.create_unicode_buffer(length + 1)
    user32.GetWindowTextW(hwnd, title, length + 1)
    pid = ctypes.c_uint32()
    user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
    name = None
    handle = kernel32.OpenProcess(0x1000, False, pid.value)   # PROCESS_QUERY_LIMITED_INFORMATION
    if handle:
        try:
            size = ctypes.c_uint32(1024)
            image = ctypes.create_unicode_buffer(size.value)
            if kernel32.QueryFullProcessImageNameW(handle, 0, image, ctypes.byref(size)):
                name = ntpath.basename(image.value)
        finally:
            kernel32.CloseHandle(handle)
    if not name:
        raise Unavailable("the foreground window's process cannot be read (an elevated app?).")
    return name, title.value or None


def battery_from_power_status(status):
    """(percent, charging) from a SYSTEM_POWER_STATUS, or (None, None) without a battery."""
    if status.BatteryFlag & 128 or status.BatteryFlag == 255 or status.BatteryLifePercent > 100:
        return None, None
    return status.BatteryLifePercent, status.ACLineStatus == 1


def windows_battery():
    status = SYSTEM_POWER_STATUS()
    if not ctypes.WinDLL("kernel32").GetSystemPowerStatus(ctypes.byref(status)):
        return None, None
    return battery_from_power_status(status)


def idle_from_last_input(tick_count, last_input):
    """Seconds since the last input, from GetTickCount and LASTINPUTINFO.dwTime (32-bit, wrapping)."""
    return ((tick_count - last_input) & 0xFFFFFFFF) / 1000.0


def windows_idle():
    user32, kernel32 = _win32()
    info = LASTINPUTINFO(cbSize=ctypes.sizeof(LASTINPUTINFO))
    if not user32.GetLastInputInfo(ctypes.byref(info)):
        return None
    return idle_from_last_input(kernel32.GetTickCount(), info.dwTime)


# ----------------------------------------------------------------------------- probes: battery, idle

def linux_battery(root="/sys/class/power_supply"):
    """(percent, charging) from the kernel's power supplies; peripherals' batteries are left out."""
    levels, charging, plugged = [], False, False
    try:
        entries = sorted(Path(root).iterdir())
    except OSError:
        return None, None

    def read(entry, name):
        try:
            return (entry / name).read_text().strip()
        except OSError:
            return ""
    for entry in entries:
        kind = read(entry, "type")
        if kind == "Battery" and read(entry, "scope") != "Device" and read(entry, "capacity").isdigit():
            levels.append(int(read(entry, "capacity")))
            charging = charging or read(entry, "status") in ("Charging", "Full")
        elif kind == "Mains" and read(entry, "online") == "1":
            plugged = True
    if not levels:
        return None, None
    return round(sum(levels) / len(levels)), charging or plugged


def parse_pmset(text):
    """(percent, charging) from `pmset -g batt`; charging means on AC power or charging."""
    match = re.search(r"(\d{1,3})%;\s*([^;]+);", text or "")
    if not match:
        return None, None
    on_ac = "'AC Power'" in (text or "")
    return min(100, int(match.group(1))), on_ac or match.group(2).strip() == "charging"


def parse_ioreg_idle(text):
    """Seconds of idle from `ioreg -c IOHIDSystem` (HIDIdleTime is in nanoseconds)."""
    match = re.search(r'"HIDIdleTime"\s*=\s*(\d+)', text or "")
    return int(match.group(1)) / 1e9 if match else None


def parse_xprintidle(text):
    """Seconds of idle from `xprintidle` (milliseconds)."""
    text = (text or "").strip()
    return int(text) / 1000.0 if text.isdigit() else None


def parse_mutter_idle(text):
    """Seconds of idle from GNOME's org.gnome.Mutter.IdleMonitor.GetIdletime, as gdbus prints it."""
    match = re.search(r"\(uint64 (\d+),\)", text or "")
    return int(match.group(1)) / 1000.0 if match else None


class XScreenSaverInfo(ctypes.Structure):
    _fields_ = [("window", ctypes.c_ulong), ("state", ctypes.c_int), ("kind", ctypes.c_int),
                ("til_or_since", ctypes.c_ulong), ("idle", ctypes.c_ulong), ("eventMask", ctypes.c_ulong)]


class X11Idle:
    """Idle time from the X server's screen-saver extension (libXss through ctypes), else xprintidle."""

    def __init__(self):
        self.display = self.xss = None
        try:
            x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
            xss = ctypes.CDLL(ctypes.util.find_library("Xss") or "libXss.so.1")
        except OSError:
            return
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        xss.XScreenSaverAllocInfo.restype = ctypes.POINTER(XScreenSaverInfo)
        xss.XScreenSaverQueryInfo.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(XScreenSaverInfo)]
        self.display = x11.XOpenDisplay(None)   # kept open: one connection for the reporter's life
        if self.display:
            self.x11, self.xss, self.info = x11, xss, xss.XScreenSaverAllocInfo()

    def seconds(self):
        if self.display and self.xss:
            root = self.x11.XDefaultRootWindow(self.display)
            if self.xss.XScreenSaverQueryInfo(self.display, root, self.info):
                return self.info.contents.idle / 1000.0
        return parse_xprintidle(run_command(["xprintidle"])) if shutil.which("xprintidle") else None


# ----------------------------------------------------------------------------- probes: now playing

PLAYERCTL_FORMAT = SEP.join(["{{playerName}}", "{{status}}", "{{xesam:title}}", "{{xesam:artist}}",
                             "{{xesam:album}}", "{{position}}", "{{mpris:length}}", "{{mpris:artUrl}}"])


def _ms(value, scale):
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return max(0, int(number * scale))


def _track(source, status, title, artist, album, position_ms, duration_ms, art=None):
    if not (title or "").strip():
        return None
    status = (status or "").strip().lower()
    return {"source": source, "title": title.strip(), "artist": (artist or "").strip() or None,
            "album": (album or "").strip() or None,
            "status": status if status in ("playing", "paused", "stopped") else "playing",
            "positionMs": position_ms, "durationMs": duration_ms, "art": (art or "").strip() or None}


def parse_playerctl(text):
    """The playing (else the first) MPRIS player in `playerctl -a metadata --format PLAYERCTL_FORMAT`."""
    tracks = []
    for line in (text or "").splitlines():
        parts = line.split(SEP)
        if len(parts) == 8:
            name, status, title, artist, album, position, length, art = parts
            track = _track(name, status, title, artist, album, _ms(position, 1e-3), _ms(length, 1e-3), art)
            if track:
                tracks.append(track)
    playing = [t for t in tracks if t["status"] == "playing"]
    return (playing or tracks or [None])[0]


def linux_media():
    if shutil.which("playerctl") is None:
        return None
    return parse_playerctl(run_command(["playerctl", "-a", "metadata", "--format", PLAYERCTL_FORMAT]))


# An app's AppleScript dictionary is looked up when the script compiles, so each player
# has its own script, run only while that player is running (else macOS asks where it is).
MAC_RUNNING_SCRIPT = ('tell application "System Events" to get name of every application process '
                      'whose name is "Music" or name is "Spotify"')
MAC_PLAYER_SCRIPT = """
set sep to character id 31
tell application "{app}"
    if player state is stopped then return ""
    set t to current track
    set head to "{app}" & sep & (player state as text) & sep & (name of t) & sep & (artist of t)
    set tail to (album of t) & sep & (player position as text) & sep & (duration of t as text)
    return head & sep & tail & sep & {art}
end tell
"""
MAC_ART = {"Music": '""', "Spotify": "(artwork url of t)"}
MAC_DURATION_SCALE = {"Music": 1000, "Spotify": 1}   # Music counts seconds, Spotify milliseconds


def parse_mac_player(text):
    """A track from MAC_PLAYER_SCRIPT's output for Music or Spotify, or None."""
    parts = (text or "").rstrip("\n").split(SEP)
    if len(parts) != 8:
        return None
    app, state, title, artist, album, position, duration, art = parts
    return _track(app, state, title, artist, album, _ms(position, 1000),
                  _ms(duration, MAC_DURATION_SCALE.get(app, 1000)), art)


def mac_media():
    running = run_command(["osascript", "-e", MAC_RUNNING_SCRIPT]) or ""
    tracks = []
    for app in ("Music", "Spotify"):
        if app in running:
            script = MAC_PLAYER_SCRIPT.replace("{app}", app).replace("{art}", MAC_ART[app])
            track = parse_mac_player(run_command(["osascript", "-e", script]))
            if track:
                tracks.append(track)
    playing = [t for t in tracks if t["status"] == "playing"]
    return (playing or tracks or [None])[0]


IMAGE_SIGNATURES = [(b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                    (b"GIF8", "image/gif"), (b"BM", "image/bmp")]


def cover_data_url(art, max_bytes=COVER_MAX_BYTES):
    """A data URL for a file:// cover (read, size-capped), a data: URL as is; None otherwise."""
    if art.startswith("data:image/"):
        return art if len(art) <= max_bytes * 4 // 3 + 64 else None
    if not art.startswith("file://"):
        return None
    path = urllib.request.url2pathname(urllib.parse.urlparse(art).path)
    try:
        with open(path, "rb") as image:
            data = image.read(max_bytes + 1)
    except OSError:
        return None
    if len(data) > max_bytes:
        return None
    mime = next((m for magic, m in IMAGE_SIGNATURES if data.startswith(magic)), None)
    if mime is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        mime = "image/webp"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}" if mime else None


# ----------------------------------------------------------------------------- one platform

class Desktop:
    """What this computer is doing: foreground window, battery, idle time, now playing."""

    def __init__(self, platform=None, environ=None):
        self.platform = platform or sys.platform
        env = os.environ if environ is None else environ
        self.wayland = bool(env.get("WAYLAND_DISPLAY")) and self.platform.startswith("linux")
        self.gnome = "gnome" in env.get("XDG_CURRENT_DESKTOP", "").lower()
        self.display = env.get("DISPLAY")
        self._x11_idle = None

    def foreground(self):
        """(process name, window title); Unavailable says why not."""
        if self.platform == "darwin":
            window = mac_foreground()
        elif self.platform == "win32":
            window = windows_foreground()
        elif self.wayland:
            window = wayland_foreground()
        elif self.display:
            window = x11_foreground()
        else:
            raise Unavailable("no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set).")
        if not window[0]:
            raise Unavailable("the focused window names no process (it may have just closed).")
        return window

    def battery(self):
        if self.platform == "darwin":
            return parse_pmset(run_command(["pmset", "-g", "batt"]))
        if self.platform == "win32":
            return windows_battery()
        return linux_battery()

    def idle_seconds(self):
        """Seconds since the last keyboard or mouse input, or None when unknown."""
        if self.platform == "darwin":
            return parse_ioreg_idle(run_command(["ioreg", "-c", "IOHIDSystem", "-d", "4"]))
        if self.platform == "win32":
            return windows_idle()
        if self.wayland:
            if self.gnome and shutil.which("gdbus"):
                return parse_mutter_idle(run_command(
                    ["gdbus", "call", "--session", "--dest", "org.gnome.Mutter.IdleMonitor", "--object-path",
                     "/org/gnome/Mutter/IdleMonitor/Core", "--method", "org.gnome.Mutter.IdleMonitor.GetIdletime"]))
            return None
        if self._x11_idle is None:
            self._x11_idle = X11Idle()
        return self._x11_idle.seconds()

    def media(self):
        if self.platform == "darwin":
            return mac_media()
        if self.platform.startswith("linux"):
            return linux_media()
        return None   # Windows' media session is WinRT, out of reach of the standard library


# ----------------------------------------------------------------------------- the report

def _matches(process, names):
    stem = process.lower()
    return any(stem == n.lower() or stem == n.lower() + ".exe" for n in names)


def build_report(config, window, battery, track, cover):
    """The JSON body for POST /api/activity; None when the window's process is excluded."""
    process, title = window
    if not process or _matches(process, config.get("exclude", [])):
        return None
    if _matches(process, config.get("hideTitle", [])):
        title = None
    level, charging = battery
    body = {"generatedHashKey": config["key"], "device": config.get("device") or socket.gethostname(),
            "device_type": config.get("deviceType", "desktop"), "process_name": process,
            "process_title": title or None, "battery_level": level, "is_charging": charging,
            "push_mode": "realtime", "metadata": None}
    if track:
        media = {k: track[k] for k in ("title", "album", "status", "positionMs", "durationMs")
                 if track[k] is not None}
        if track["artist"]:
            media["artist"] = media["singer"] = track["artist"]
        media.update(cover)
        body["metadata"] = {"media": media, "play_source": track["source"]}
    return body


def signature(body):
    """What makes a report new: the app, its title and the track (not position, battery, cover)."""
    media = (body.get("metadata") or {}).get("media") or {}
    return (body["process_name"], body["process_title"],
            tuple(media.get(k) for k in ("title", "artist", "album", "status", "durationMs")))


# ----------------------------------------------------------------------------- talking to waken

class Answer:
    """A server's answer: status (0 when unreachable), JSON body, a sentence for people."""

    def __init__(self, status, body=None, message="", retry_after=None):
        self.status, self.body, self.message = status, body or {}, message
        self.retry_after = retry_after   # seconds, from a 429's Retry-After

    @property
    def pending(self):
        return self.status == 202 and self.body.get("pending") is True

    @property
    def ok(self):
        return 200 <= self.status < 300 and not self.pending and self.body.get("success") is not False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would turn the POST into a GET (and may leave https): say so instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Client:
    """POSTs JSON with the token to the server; https certificates are verified."""

    def __init__(self, base_url, token, timeout=REQUEST_TIMEOUT):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self.opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context()))

    def post(self, path, body):
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     "User-Agent": f"waken-reporter/{VERSION}"})
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return self._answer(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as err:
            with err:
                return self._answer(err.code, err.read(), err.headers)
        except ssl.SSLCertVerificationError as err:
            return Answer(0, message=f"the server's certificate is not trusted ({err.verify_message}); "
                                     "add its CA to the system store or set SSL_CERT_FILE.")
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            return Answer(0, message=f"cannot reach {self.base_url}: {reason}.")

    def _answer(self, status, raw, headers):
        body = _json_object(raw.decode("utf-8", "replace")) or {}
        error = body.get("error") or body.get("message") or ""
        code = f" [code {body['code']}]" if body.get("code") else ""
        if chinese():
            return Answer(status, body, _chinese_answer(status, body, error, code, headers),
                          _seconds(headers.get("Retry-After")) if status == 429 else None)
        if 300 <= status < 400:
            message = (f"the server redirected to {headers.get('Location')}; run setup again with "
                       "that address.")
        elif status == 401:
            message = (f"the server refused the token (401{code}): {error or 'unknown or disabled'}. "
                       "Mint a new one in the admin panel and run setup again.")
        elif status == 403:
            message = (f"the server refused this device (403{code}): {error}. In the admin panel, "
                       "Devices: add or approve the key this reporter shows (setup prints it).")
        elif status == 429:
            message = f"too many reports (429); waiting {headers.get('Retry-After', '?')} s."
        elif status >= 400:
            fields = body.get("fields")
            message = f"the server answered {status}{code}: {error}" + (f" {fields}" if fields else "")
        else:
            message = error
        return Answer(status, body, message, _seconds(headers.get("Retry-After")) if status == 429 else None)


# ----------------------------------------------------------------------------- messages in Chinese

# The server's error codes (docs/errors.md on the server) in Chinese. The reporter is one file
# without dependencies, so its translations are this table rather than a gettext catalog; a
# code it does not know shows the server's English sentence.
ZH_MESSAGES = {
    "auth.token_missing": "缺少 API Token",
    "auth.token_invalid": "无效的 API Token",
    "auth.token_disabled": "此 API Token 已停用",
    "auth.scope_missing": "此 API Token 没有上报（report）权限",
    "device.pending_approval": "设备待后台审核后可用",
    "device.revoked": "此设备已在后台被吊销",
    "device.unknown": "未知设备：请先在后台设备管理中添加此 GeneratedHashKey",
    "device.reserved": "此设备密钥保留给后台的快速添加",
    "device.orphaned": "此设备绑定的 Token 已被删除，请在后台重新绑定或解除绑定",
    "device.token_mismatch": "此设备绑定了另一个 API Token",
    "device.limit_reached": "服务器已不再通过上报注册新设备",
    "device.key_invalid": "GeneratedHashKey 必须是 8 到 128 个不含空格的可打印字符",
    "activity.validation_failed": "缺少必要字段或字段无效",
    "rate_limited": "请求过于频繁",
    "body.too_large": "请求体过大",
    "busy.images": "服务器正忙于保存其他带图片的上报",
    "disk.full": "服务器磁盘已满",
    "disk.read_only": "服务器数据目录为只读",
    "disk.io_error": "服务器磁盘写入失败",
}


def chinese(environ=None):
    """Whether to speak Chinese: WAKEN_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG) names zh."""
    environ = os.environ if environ is None else environ
    for name in ("WAKEN_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return environ[name].lower().startswith("zh")
    return False


def _chinese_answer(status, body, error, code, headers):
    """The line the reporter logs for a server's answer, in Chinese."""
    error = ZH_MESSAGES.get(body.get("code"), error)
    if 300 <= status < 400:
        return f"服务器重定向到 {headers.get('Location')}；请用该地址重新运行 setup。"
    if status == 401:
        return f"服务器拒绝了令牌（401{code}）：{error}。请在管理后台生成新令牌并重新运行 setup。"
    if status == 403:
        return f"服务器拒绝了此设备（403{code}）：{error}。请在管理后台“设备”中添加或批准本上报器显示的密钥。"
    if status == 429:
        return f"上报过于频繁（429）；等待 {headers.get('Retry-After', '?')} 秒。"
    if status >= 400:
        fields = body.get("fields")
        return f"服务器返回 {status}{code}：{error}" + (f" {fields}" if fields else "")
    return error


# ----------------------------------------------------------------------------- the loop

class Reporter:
    """Reports on change and as a heartbeat; pauses when idle; backs off when the server fails."""

    def __init__(self, config, desktop, client, out=None, sleep=time.sleep, clock=time.monotonic):
        self.config, self.desktop, self.client = config, desktop, client
        self.out, self.sleep, self.clock = out, sleep, clock   # `out` set: dry run, print instead of POST
        self.interval = float(config.get("intervalSeconds", POLL_SECONDS))
        self.idle_limit = float(config.get("idleMinutes", IDLE_MINUTES)) * 60
        self.sent_signature, self.sent_at = None, None
        self.cover_track, self.cover_url = None, None   # the track whose cover the server has
        self.failures, self.retry_at = 0, 0.0
        self.notice = None
        self.once = False   # `run --once`: a pending answer is printed, not waited out

    def say(self, message):
        """Log a state change once, not on every pass."""
        if message != self.notice:
            self.notice = message
            log(message)

    def snapshot(self):
        """The report for this moment (None when there is nothing to say) and the track it carries."""
        window = self.desktop.foreground()
        try:
            track = self.desktop.media()
        except Exception as err:   # a media read failure means reporting without media
            log(f"now playing could not be read: {err}")
            track = None
        cover = self._cover(track) if track else {}
        return build_report(self.config, window, self.desktop.battery(), track, cover), track

    def _cover(self, track):
        identity = (track["source"], track["title"], track["artist"], track["album"])
        if identity == self.cover_track:
            return {"coverUrl": self.cover_url} if self.cover_url else {}
        art = track["art"] or ""
        if art.startswith(("http://", "https://")):
            return {"coverUrl": art}   # the server keeps a remote URL as given and never fetches it
        data_url = cover_data_url(art) if art else None
        return {"coverDataUrl": data_url} if data_url else {}

    def step(self):
        """One pass: read, decide, send. Returns the answer when something was sent."""
        try:
            body, track = self.snapshot()
        except Unavailable as err:
            self.say(f"cannot read the foreground window: {err}")
            return None
        now = self.clock()
        if body is None:
            self.say("the foreground app is excluded: nothing is reported.")
            return None
        idle = self.desktop.idle_seconds()
        if idle is not None and idle >= self.idle_limit:
            self.say(f"idle for {int(idle // 60)} min: heartbeats stop, so the device goes offline.")
            return None
        changed = signature(body) != self.sent_signature
        if not changed and self.sent_at is not None and now - self.sent_at < HEARTBEAT_SECONDS:
            return None
        if now < self.retry_at:
            return None
        return self.send(body, track, now)

    def send(self, body, track, now):
        if self.out is not None:
            print(json.dumps(body, ensure_ascii=False), file=self.out, flush=True)
            self._sent(body, track, now, {})
            return Answer(200)
        answer = self.client.post("/api/activity", body)
        if answer.ok:
            if self.failures:
                log("reports go through again.")
            self._sent(body, track, now, answer.body.get("data") or {})
            self.say(f"reported {body['process_name']}" + (f" — {body['process_title']}" if body["process_title"] else ""))
        elif answer.pending and self.once:
            log(f"this device waits for approval: {answer.body.get('approvalUrl')}; `run` waits for it.")
        elif answer.pending:
            self.wait_for_approval(answer)
        else:
            self.failures += 1
            delay = min(BACKOFF_CAP_SECONDS, self.interval * 2 ** self.failures)
            self.retry_at = now + max(delay, answer.retry_after or 0)
            wait = int(self.retry_at - now)
            self.say(f"{answer.message} {wait} 秒后用最新状态重试。" if chinese()
                     else f"{answer.message} Retrying in {wait} s with the latest state.")
        return answer

    def _sent(self, body, track, now, data):
        self.sent_signature, self.sent_at = signature(body), now
        self.failures, self.retry_at = 0, 0.0
        if track:
            identity = (track["source"], track["title"], track["artist"], track["album"])
            if identity != self.cover_track:
                media = ((data.get("metadata") or {}).get("media") or {})
                sent = (body.get("metadata") or {}).get("media") or {}
                self.cover_track, self.cover_url = identity, media.get("coverUrl") or sent.get("coverUrl")

    def wait_for_approval(self, answer):
        """Print where to approve this device, then ask the server until it is approved."""
        where = answer.body.get('approvalUrl') or 'see Devices in the admin panel'
        log(f"{ZH_MESSAGES['device.pending_approval']}：{where}" if chinese()
            else f"this device waits for approval: {where}")
        probe = {"generatedHashKey": self.config["key"], "device": self.config.get("device") or socket.gethostname(),
                 "deviceType": self.config.get("deviceType", "desktop")}
        while True:
            self.sleep(float(self.config.get("approvalPollSeconds", APPROVAL_POLL_SECONDS)))
            check = self.client.post("/api/activity/verify", probe)
            if check.ok:
                log("approved: reporting starts.")
                self.sent_signature = None   # send the current state at once
                return
            if not check.pending:
                self.say(f"still not approved: {check.message}")

    def run_forever(self):
        while True:
            self.step()
            self.sleep(self.interval)


def _seconds(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- service files

SERVICE_NAME = "waken-reporter"
LAUNCHD_LABEL = "org.waken.reporter"


def service_command(script, config_file=None, python=None):
    """The command a service runs: this Python, isolated, this file, `run`."""
    args = [python or sys.executable, "-I", str(Path(script).resolve())]
    if config_file:
        args += ["--config", str(Path(config_file).resolve())]
    return args + ["run"]


def systemd_unit(command):
    """A systemd user unit that keeps the reporter running in the user's session."""
    quoted = " ".join('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"' for a in command)
    return ("[Unit]\nDescription=waken reporter: tells waken which app is in use\n"
            "After=graphical-session.target network-online.target\n\n"
            f"[Service]\nExecStart={quoted}\nRestart=on-failure\nRestartSec=30\n\n"
            "[Install]\nWantedBy=default.target\n")


def launchd_plist(command, log_file):
    """A launchd agent that starts the reporter at login and restarts it."""
    return plistlib.dumps({"Label": LAUNCHD_LABEL, "ProgramArguments": command, "RunAtLoad": True,
                           "KeepAlive": True, "StandardOutPath": log_file, "StandardErrorPath": log_file})


def install_service(script, config_file=None, platform=None, home=None, enable=False):
    """Write the service file for this platform; returns the commands that enable it."""
    platform, home = platform or sys.platform, Path(home or Path.home())
    command = service_command(script, config_file)
    if platform == "darwin":
        path = home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        text = launchd_plist(command, str(home / "Library" / "Logs" / "waken-reporter.log"))
        enable_commands = [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(path)]]
    elif platform.startswith("linux"):
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(home / ".config")
        path = Path(config_home) / "systemd" / "user" / f"{SERVICE_NAME}.service"
        text = systemd_unit(command).encode()
        enable_commands = [["systemctl", "--user", "daemon-reload"],
                           ["systemctl", "--user", "enable", "--now", f"{SERVICE_NAME}.service"]]
    else:
        raise SetupError("On Windows, start it at logon with Task Scheduler: schtasks /Create /SC ONLOGON "
                         f'/TN {SERVICE_NAME} /TR "pythonw -I {Path(script).resolve()} run"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text)
    if enable:
        for args in enable_commands:
            subprocess.run(args, check=True)
    return path, enable_commands


# ----------------------------------------------------------------------------- command line

def _privacy(config, args):
    for key, names in (("exclude", args.exclude), ("hideTitle", args.hide_title)):
        for name in names or []:
            if not _matches(name, config.get(key, [])):
                config.setdefault(key, []).append(name)
    return config


def cmd_setup(args):
    path = config_path(args.config)
    text = sys.stdin.read() if args.integration == "-" else args.integration
    imported = decode_import(text)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    config = {**old, "version": 1, "baseUrl": imported["baseUrl"], "token": imported["token"],
              "tokenName": imported["tokenName"],
              "key": args.key or old.get("key") or new_key(),   # a device keeps its key across set-ups
              "device": args.name or imported["device"] or old.get("device") or socket.gethostname(),
              "deviceType": args.device_type or old.get("deviceType") or "desktop"}
    if args.idle_minutes is not None:
        config["idleMinutes"] = args.idle_minutes
    save_config(path, _privacy(config, args))
    print(f"Saved {path} (readable by you only).")
    print(f"Server: {config['baseUrl']}   device: {config['device']}   key: {config['key']}")
    if args.no_verify:
        return 0
    probe = {"generatedHashKey": config["key"], "deviceType": config["deviceType"]}
    if args.name or imported["device"]:
        probe["device"] = config["device"]   # a name given here renames the device; none keeps the admin's
    answer = Client(config["baseUrl"], config["token"]).post("/api/activity/verify", probe)
    if answer.ok:
        known_as = (answer.body.get("data") or {}).get("displayName")
        if known_as and "device" not in probe and known_as != config["device"]:
            config["device"] = known_as   # reports carry the name the owner gave it in the admin panel
            save_config(path, config)
        print(f"The server knows this device as {config['device']}: `run` starts reporting.")
    elif answer.pending:
        print(f"The device waits for approval: {answer.body.get('approvalUrl')}\n`run` reports once it is approved.")
    elif answer.status == 403:
        print(f"The server does not accept this device yet ({answer.body.get('error', '')}). In the admin "
              f"panel, Devices → Add device with the key {config['key']}, or set device registration to "
              "“pending” and run setup again.")
    else:
        print(f"Could not check the device: {answer.message} The configuration is saved.")
    return 0


def cmd_run(args):
    config = _privacy(load_config(config_path(args.config)), args)
    if args.interval:
        config["intervalSeconds"] = args.interval
    reporter = Reporter(config, Desktop(), Client(config["baseUrl"], config["token"]),
                        out=sys.stdout if args.dry_run else None)
    reporter.once = args.once
    if not args.once:
        log(f"waken-reporter {VERSION}: reporting to {config['baseUrl']} as {config.get('device')}.")
        reporter.run_forever()
    try:
        body, track = reporter.snapshot()
    except Unavailable as err:
        log(f"cannot read the foreground window: {err}")
        return 1
    if body is None:
        log("the foreground app is excluded: nothing to report.")
        return 0
    answer = reporter.send(body, track, reporter.clock())
    if answer.ok:
        return 0
    if not answer.pending:
        log(answer.message)
    return 1


def cmd_install_service(args):
    path, commands = install_service(__file__, args.config, enable=args.enable)
    print(f"Wrote {path}.")
    if not args.enable:
        print("Enable it with:\n" + "\n".join("  " + " ".join(c) for c in commands))
    if sys.platform.startswith("linux"):
        print("The service needs your session's DISPLAY or WAYLAND_DISPLAY: GNOME and KDE pass them to "
              "systemd; elsewhere run `systemctl --user import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY` "
              "when the session starts.")
    return 0


def parser():
    top = argparse.ArgumentParser(prog="waken-reporter", description="Tell a waken server which app "
                                  "this computer is using and what is playing.")
    top.add_argument("--version", action="version", version=f"waken-reporter {VERSION}")
    top.add_argument("--config", help="settings file (default: %s)" % config_path())
    commands = top.add_subparsers(dest="command", required=True)

    def privacy(sub):
        sub.add_argument("--exclude", action="append", metavar="PROCESS", help="never report this app")
        sub.add_argument("--hide-title", action="append", metavar="PROCESS",
                         help="report this app without its window title")
    setup = commands.add_parser("setup", help="store the server, token and device key")
    setup.add_argument("integration", help="the admin's integration config or reporter bundle "
                       "(base64 or JSON); - reads it from standard input")
    setup.add_argument("--key", help="device key (default: keep the stored one or generate one)")
    setup.add_argument("--name", help="device name shown on the page (default: the host name)")
    setup.add_argument("--device-type", choices=DEVICE_TYPES)
    setup.add_argument("--idle-minutes", type=float, help=f"idle time that stops heartbeats (default {IDLE_MINUTES})")
    setup.add_argument("--no-verify", action="store_true", help="do not ask the server about the device")
    privacy(setup)
    run = commands.add_parser("run", help="report until stopped")
    run.add_argument("--once", action="store_true", help="send one report and exit")
    run.add_argument("--dry-run", action="store_true", help="print the JSON instead of sending it")
    run.add_argument("--interval", type=float, help=f"seconds between reads (default {POLL_SECONDS:g})")
    privacy(run)
    service = commands.add_parser("install-service", help="write a systemd user unit or a launchd agent")
    service.add_argument("--enable", action="store_true", help="also enable and start it")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    handler = {"setup": cmd_setup, "run": cmd_run, "install-service": cmd_install_service}[args.command]
    try:
        return handler(args)
    except SetupError as err:
        print(f"waken-reporter: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
