"""A real desktop for the reporter's tests: Xvfb, openbox, an xmessage window, a session D-Bus, mpv."""
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from PIL import Image

from tests.support import wait_for

TOOLS = ("Xvfb", "openbox", "xmessage", "xprop", "xdotool", "dbus-daemon", "mpv", "playerctl")
MPRIS_PLUGINS = ("/usr/lib/mpv-mpris/mpris.so", "/etc/mpv/scripts/mpris.so",
                 "/usr/lib/x86_64-linux-gnu/mpv/scripts/mpris.so")
TRACK = {"title": "Sine Four-Forty", "artist": "Test Artist", "album": "Test Album"}


def missing_tools():
    """What `make desktop` would install and is not here (empty when everything is)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not any(os.path.exists(p) for p in MPRIS_PLUGINS):
        missing.append("mpv-mpris")
    return missing


class Desktop:
    """An X server with a window manager and one window, a session bus, and mpv playing a tone."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.procs = []
        self.env = dict(os.environ)

    def _spawn(self, args, **kwargs):
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(args, env=self.env, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def _command(self, *args):
        return subprocess.run(args, env={**self.env, "LC_ALL": "C"}, capture_output=True, text=True,
                              timeout=10).stdout

    def start(self):
        read_end, write_end = os.pipe()
        with open(self.folder / "xvfb.log", "wb") as log:
            self._spawn(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                        pass_fds=(write_end,), stderr=log)
        os.close(write_end)
        number = b""
        while not number.endswith(b"\n") and select.select([read_end], [], [], 20)[0]:
            chunk = os.read(read_end, 16)   # Xvfb dies if the pipe closes before its newline
            if not chunk:
                break
            number += chunk
        os.close(read_end)
        number = number.decode().strip()
        assert number.isdigit(), "Xvfb did not report its display"
        self.env["DISPLAY"] = f":{number}"
        bus = self._spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], stdout=subprocess.PIPE)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
        self.env.pop("WAYLAND_DISPLAY", None)
        with open(self.folder / "openbox.log", "wb") as log:   # the child keeps its own descriptor
            self._spawn(["openbox"], stderr=log)
        assert wait_for(lambda: "window id" in self._command("xprop", "-root", "_NET_SUPPORTING_WM_CHECK"), 20), \
            "openbox did not start: " + self._why()
        with open(self.folder / "xmessage.log", "wb") as log:
            self._spawn(["xmessage", "-title", "first title", "a window whose title changes"], stderr=log)
        assert wait_for(lambda: self.window() is not None, 20), "openbox did not activate the window: " + self._why()
        self._start_player()
        return self

    def _why(self):
        logs = {p.name: p.read_text(errors="replace")[-400:] for p in self.folder.glob("*.log")}
        return (f"display {self.env.get('DISPLAY')}, exit codes {[p.poll() for p in self.procs]}, "
                f"active window {self._command('xprop', '-root', '_NET_ACTIVE_WINDOW')!r}, logs {logs}")

    def window(self):
        """The active window's id, once it is the xmessage window."""
        line = self._command("xprop", "-root", "_NET_ACTIVE_WINDOW")
        window = line.rsplit(" ", 1)[-1].strip() if "window id" in line else "0x0"
        if int(window, 16) and "xmessage" in self._command("xprop", "-id", window, "WM_CLASS"):
            return window
        return None

    def set_title(self, title):
        subprocess.run(["xdotool", "set_window", "--name", title, self.window()], env=self.env, check=True,
                       timeout=10)

    def _start_player(self):
        music = self.folder / "music"
        music.mkdir(exist_ok=True)
        # mpv-mpris offers a cover.png next to the file as the track's file:// artUrl.
        Image.new("RGB", (64, 64), (200, 40, 40)).save(music / "cover.png")
        tags = ",".join(f'{k}="{v}"' for k, v in TRACK.items())
        subprocess.run(["mpv", "--no-config", "--ao=null", "--vo=null", "av://lavfi:sine=frequency=440:duration=30",
                        f"--o={music / 'tone.flac'}", "--of=flac", f"--oset-metadata={tags}"],
                       env=self.env, check=True, capture_output=True, timeout=60)
        plugin = next(p for p in MPRIS_PLUGINS if os.path.exists(p))
        self._spawn(["mpv", "--no-config", f"--script={plugin}", "--ao=null", "--vo=null", "--loop-file=inf",
                     str(music / "tone.flac")])
        assert wait_for(lambda: TRACK["title"] in self._command("playerctl", "metadata", "xesam:title"), 20), \
            "mpv did not appear on the session bus"

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()


def poll(check, seconds):
    """The first truthy value of check() within `seconds`, and how long it took (None, elapsed if none)."""
    started = time.monotonic()
    while True:
        value = check()
        elapsed = time.monotonic() - started
        if value or elapsed > seconds:
            return value, elapsed
        time.sleep(0.1)
