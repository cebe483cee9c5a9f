"""The Chinese and English interface: complete catalogs, every template text translatable, and the language chosen."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.i18n_support import untranslated
from tests.support import record

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "waken" / "translations"
ZH_PO = CATALOGS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"   # Babel's name of zh_CN
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _key(text):
    return tuple(text) if isinstance(text, (list, tuple)) else (text,)


def _texts(html):
    """The texts a page hands its scripts."""
    return json.loads(re.search(r'<script type="application/json" id="ui-text">(.*?)</script>', html).group(1))


def _ids(catalog):
    return {m.id for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The texts the sources mark today, extracted as `make i18n` does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                    "-k", "N_", "-k", "Setting:3", "--no-location", "--omit-header", "-o", str(pot), "."],
                   cwd=ROOT, check=True)
    with pot.open("rb") as f:
        return read_po(f)


def test_the_chinese_catalog_translates_every_marked_text_and_nothing_stale(extracted):
    with ZH_PO.open("rb") as f:
        zh = read_po(f, locale="zh_CN")
    assert not _ids(extracted) - _ids(zh), "new texts: run make i18n and translate them"
    assert not _ids(zh) - _ids(extracted), "stale texts: run make i18n"
    assert not zh.obsolete, "obsolete entries: run make i18n"
    untranslated_ids = [m.id for m in zh if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert not untranslated_ids
    assert not [m.id for m in zh if m.id and m.fuzzy]
    assert not any(m.check() for m in zh if m.id), "a translation's placeholders differ from its text's"


def test_the_compiled_catalogs_match_their_sources():
    # The .mo files are committed so that a fresh clone runs without a build step.
    for po in CATALOGS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as f:
            source = {_key(m.id): _key(m.string) for m in read_po(f) if m.id and any(_key(m.string))}
        with po.with_suffix(".mo").open("rb") as f:
            # (an untranslated plural is compiled as its own text)
            compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id and _key(m.string) != _key(m.id)}
        assert compiled == source, f"{po.parent.parent.name}: run make i18n"


def test_every_template_text_is_inside_a_translation_call(app):
    assert untranslated(app.jinja_env) == {}


def test_the_checker_finds_text_outside_a_translation_call(app, tmp_path):
    # The checker itself: plain text, a visible attribute and a label given to a macro are caught.
    (tmp_path / "probe.html").write_text('<p title="Hover text">Plain words</p>{{ input("x", "Some label") }}'
                                         '<p>{{ _("Fine") }}</p>{% trans %}Also fine{% endtrans %}')
    found = untranslated(app.jinja_env, tmp_path)["probe.html"]
    assert any("Plain words" in line for line in found) and "Hover text" in found and "Some label" in found
    assert not any("Fine" in line or "Also fine" in line for line in found)


@pytest.mark.parametrize("header, lang", [
    ("zh-CN,zh;q=0.9", "zh-CN"), ("zh", "zh-CN"), ("en-US", "en"), ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("fr-FR", "en"), (None, "en")])
def test_auto_follows_accept_language_and_without_one_is_english(client, admin, header, lang):
    headers = {"Accept-Language": header} if header else {}
    home = client.get("/", headers=headers)
    page = admin.get("/admin/devices", headers=headers).text
    assert f'<html lang="{lang}">' in home.text and f'<html lang="{lang}">' in page
    assert "Accept-Language" in home.headers.get("Vary", "")
    if lang == "zh-CN":
        assert "当前状态" in home.text and "设备管理" in page and "Device Management" not in page
    else:
        assert "Current Status" in home.text and "Device Management" in page and not CHINESE.search(page)


def test_each_visitor_gets_the_language_of_their_own_header(client, admin):
    # Choices are remembered per header: alternating visitors never get each other's.
    long_zh = "zh-CN,zh;q=0.9," + ",".join(f"x-{n};q=0.1" for n in range(60))   # past what is remembered
    for header, lang in [("zh-CN", "zh-CN"), ("en", "en"), ("zh-CN", "zh-CN"), (long_zh, "zh-CN"), ("en", "en")] * 2:
        assert f'<html lang="{lang}">' in client.get("/", headers={"Accept-Language": header}).text
    page = admin.get("/admin/devices", headers={"Accept-Language": "zh-CN"})
    assert {"accept-language", "cookie"} <= {v.strip().lower() for v in page.headers["Vary"].split(",")}


def test_the_language_setting_overrides_accept_language(client, admin, runner):
    assert runner.invoke(args=["settings", "set", "language", "zh-CN"]).exit_code == 0
    assert '<html lang="zh-CN">' in client.get("/", headers={"Accept-Language": "en-US"}).text
    assert "概览" in admin.get("/admin/").text
    assert runner.invoke(args=["settings", "set", "language", "en"]).exit_code == 0
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    bad = runner.invoke(args=["settings", "set", "language", "fr"])
    assert bad.exit_code != 0 and "must be one of auto, zh-CN, en" in bad.output


def test_the_home_page_is_cached_per_language(client):
    zh = client.get("/", headers={"Accept-Language": "zh-CN"})
    en = client.get("/", headers={"Accept-Language": "en"})
    assert zh.headers["ETag"] != en.headers["ETag"]
    # A tag of one language does not get a 304 for the other.
    assert client.get("/", headers={"Accept-Language": "en", "If-None-Match": zh.headers["ETag"]}).status_code == 200
    assert client.get("/", headers={"Accept-Language": "zh-CN", "If-None-Match": zh.headers["ETag"]}).status_code == 304


def test_durations_times_and_the_scripts_texts_are_localised(client, auth, device):
    client.post("/api/activity", headers=auth, json={"generatedHashKey": device, "process_name": "Code"})
    zh = client.get("/", headers={"Accept-Language": "zh-CN"}).text
    assert re.search(r'<span class="duration">进行中 · 自 \d\d:\d\d 起</span>', zh)
    assert _texts(zh)["updatedAgo"] == "%(age)s前更新" and _texts(zh)["min"] == "%(n)s 分钟"
    assert _texts(client.get("/").text)["updatedAgo"] == "updated %(age)s ago"


def test_html_error_pages_are_translated_and_json_errors_keep_english(client):
    page = client.get("/nowhere", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 404 and "此地址没有内容。" in page.text and '<html lang="zh-CN">' in page.text
    api = client.get("/api/nowhere", headers={"Accept-Language": "zh-CN"})
    assert api.json["error"] == "There is nothing at this address." and api.json["code"] == "not_found"


def test_admin_form_refusals_speak_the_pages_language(admin):
    page = admin.post("/admin/tokens", data={"name": ""}, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 400 and "名称：必填。" in page.text


def test_the_cli_stays_english(runner):
    result = runner.invoke(args=["settings", "set", "timezone", "Nowhere/City"], env={"LANG": "zh_CN.UTF-8"})
    assert "is not a known IANA time zone" in result.output


def test_embeds_follow_the_language_setting_not_the_visitor(client, runner):
    # An embed is shown on other sites, through image proxies: the site's language, `auto` read as English.
    assert client.get("/embed/now.json", headers={"Accept-Language": "zh-CN"}).json["message"] == "offline"
    assert runner.invoke(args=["settings", "set", "language", "zh-CN"]).exit_code == 0
    assert client.get("/embed/now.json", headers={"Accept-Language": "en-US"}).json["message"] == "离线"
    assert ">离线</text>" in client.get("/embed/now.svg").text


def test_agent_cards_count_tool_calls_in_each_language(client, auth, runner):
    assert runner.invoke(args=["settings", "set", "public_agents", "summary"]).exit_code == 0
    for _ in range(2):
        assert client.post("/api/activities", headers=auth, json=record(type="tool_call", agent="cc")).status_code == 201
    zh = client.get("/", headers={"Accept-Language": "zh-CN"}).text
    assert "工作中 · 5 分钟内 2 次工具调用" in zh
    assert _texts(zh)["toolCallsOne"] == _texts(zh)["toolCallsMany"] == "5 分钟内 %(num)s 次工具调用"
    en = client.get("/").text
    assert "working · 2 tool calls in 5 min" in en and _texts(en)["toolCallsOne"] == "%(num)s tool call in 5 min"
