"""The "Connect a device" page: per platform, the exact commands and requests for this server."""
import json
import shlex
from dataclasses import dataclass

from flask import current_app, render_template

from waken import settings
from waken.admin import bp
from waken.admin.login import login_required
from waken.i18n.mark import N_

CONFIG = "<integration config>"   # what "Mint token and export" produces, pasted by the owner
TOKEN = "YOUR_TOKEN"
KEY = "YOUR_DEVICE_KEY"
REPORTER = "waken-reporter.py"


@dataclass(frozen=True)
class Block:
    """One thing to copy: what it is, and its exact text."""
    id: str
    label: str
    text: str


def _json(document):
    return json.dumps(document, indent=2, ensure_ascii=False)


def _report(process, **fields):
    return {"generatedHashKey": KEY, "process_name": process, **fields}


def reporter_blocks(base, platform, config=CONFIG):
    """Fetch, set up, run and install the reporter this server serves (Linux, macOS, Windows).

    `config` is the placeholder, or a freshly minted integration config (base64: safe in quotes).
    """
    url = f"{base}/reporter/{REPORTER}"
    if platform == "windows":
        # PowerShell: curl.exe ships with Windows 10 and later ("curl" alone is an alias there).
        # PowerShell keeps what is between single quotes as it is, once a ' is doubled.
        quote = "'" + url.replace("'", "''") + "'"
        fetch = f"curl.exe -fsSO {quote}\npython {REPORTER} setup '{config}'"
        python = "python"
    else:
        fetch = f"curl -fsSO {shlex.quote(url)} && python3 {REPORTER} setup '{config}'"
        python = "python3"
    blocks = [Block(f"{platform}-setup", N_("Fetch the reporter and set it up"), fetch),
              Block(f"{platform}-run", N_("Report now and keep reporting"), f"{python} {REPORTER} run")]
    if platform != "windows":
        blocks.append(Block(f"{platform}-service", N_("Start it at every login"),
                            f"python3 {REPORTER} install-service"))
    return blocks


def browser_block(base):
    """The reporting document's browser snippet, aimed at this server."""
    endpoint = json.dumps(f"{base}/api/activity")
    snippet = f"""const token = '{TOKEN}'
const deviceHashKey = '{KEY}'
const battery = await navigator.getBattery?.().catch(() => null)
const batteryLevel = battery ? Math.round(battery.level * 100) : undefined
const isCharging = battery ? battery.charging : undefined
await fetch({endpoint}, {{
  method: 'POST',
  headers: {{
    Authorization: `Bearer ${{token}}`,
    'Content-Type': 'application/json',
  }},
  body: JSON.stringify({{
    generatedHashKey: deviceHashKey,
    device: navigator.platform || 'My PC',
    device_type: 'desktop',
    process_name: 'Chrome',
    process_title: document.title,
    battery_level: batteryLevel,
    ...(typeof isCharging === 'boolean' ? {{ is_charging: isCharging }} : {{}}),
    push_mode: 'active',
  }}),
}})"""
    return [Block("browser-snippet", N_("Run on a page of a listed origin"), snippet)]


def request_text(base, body_text):
    """An HTTP request as a person types it into an app: method and URL, headers, JSON body."""
    return f"POST {base}/api/activity\nAuthorization: Bearer {TOKEN}\nContent-Type: application/json\n\n{body_text}"


def curl_text(base, body):
    """The same request as a curl command."""
    data = _json(body).replace("'", "'\\''")
    return (f"curl -X POST {shlex.quote(base + '/api/activity')} \\\n"
            f"  -H 'Authorization: Bearer {TOKEN}' \\\n  -H 'Content-Type: application/json' \\\n"
            f"  -d '{data}'")


IOS_BODY = _report("<App>", device="iPhone", device_type="mobile", battery_level="<Battery Level>",
                   is_charging="<Is Charging>", push_mode="active", persist_minutes=30)
TASKER_BODY = _report("%app_name", device="Android phone", device_type="mobile",
                      battery_level="%BATT", push_mode="active", persist_minutes=30)
HTTP_SHORTCUTS_BODY = _report("{{status}}", device="Android phone", device_type="mobile",
                              push_mode="active", persist_minutes=60)
CURL_BODY = _report("VS Code", device="MacBook Pro", device_type="desktop", process_title="editing app.py",
                    battery_level=82, is_charging=True, push_mode="realtime")


def _typed(body, numbers=(), booleans=()):
    """A body whose placeholders are shown bare: the app puts a number or true/false there."""
    text = _json(body)
    for name in (*numbers, *booleans):
        text = text.replace(f'"{body[name]}"', body[name])
    return text


def phone_blocks(base):
    """The requests that iOS Shortcuts, Tasker and HTTP Shortcuts send."""
    ios = _typed(IOS_BODY, numbers=("battery_level",), booleans=("is_charging",))
    tasker = _typed(TASKER_BODY, numbers=("battery_level",))
    return {
        "ios": [Block("ios-request", N_("The request “Get Contents of URL” sends"), request_text(base, ios))],
        "android": [Block("tasker-request", N_("Tasker: the request its HTTP Request action sends"),
                          request_text(base, tasker)),
                    Block("http-shortcuts-request", N_("HTTP Shortcuts: the request the shortcut sends"),
                          request_text(base, _json(HTTP_SHORTCUTS_BODY)))],
    }


def platforms(base):
    """(id, title, blocks) for every way in, in the order the page shows them."""
    phones = phone_blocks(base)
    return [
        ("linux", "Linux", reporter_blocks(base, "linux")),
        ("macos", "macOS", reporter_blocks(base, "macos")),
        ("windows", "Windows", reporter_blocks(base, "windows")),
        ("browser", N_("Browser snippet"), browser_block(base)),
        ("ios", "iOS Shortcuts", phones["ios"]),
        ("android", "Android", phones["android"]),
        ("curl", "curl", [Block("curl-request", N_("One report from any shell"), curl_text(base, CURL_BODY))]),
    ]


@bp.get("/connect")
@login_required
def connect():
    """Every way to connect a device, with this server's public URL filled in; no secrets."""
    base = settings.public_base()
    guessed = not (settings.get("public_url") or current_app.config["PUBLIC_URL"])   # from this request's Host
    return render_template("admin/connect.html", base=base, platforms=platforms(base), guessed=guessed,
                           origins=settings.get("cors_report_origins"))
