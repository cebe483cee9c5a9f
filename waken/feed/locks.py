"""Lock-screen processes: a device that reports one shows as "locked" in public, never the process."""
from waken.devices.app_rules import key

# What the common reporters see while the screen is locked, per system.
LOCK_SCREENS = ["LockApp.exe", "LogonUI.exe", "loginwindow", "ScreenSaverEngine",
                "gnome-screensaver-dialog", "kscreenlocker_greet", "i3lock", "swaylock", "xscreensaver",
                "light-locker", "hyprlock"]
MAX_NAMES = 100
MAX_NAME = 256


def check_lock_screens(value):
    """The setting's check: process names, one a line or comma-separated; ValueError otherwise."""
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of process names such as LockApp.exe")
    names = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(names) > MAX_NAMES or any(len(name) > MAX_NAME for name in names):
        raise ValueError(f"may list at most {MAX_NAMES} names of at most {MAX_NAME} characters")
    return names


class LockScreens:
    """The lock-screen processes in force, matched as app rules match (case-insensitive)."""

    def __init__(self, names):
        self._keys = frozenset(key(name) for name in names)

    def __contains__(self, process_name):
        return key(process_name) in self._keys
