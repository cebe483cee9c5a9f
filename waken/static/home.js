// Live refresh for the home page: follow /api/activity/stream (through live.js, which
// reconnects and polls) and redraw with DOM APIs (user text only ever goes through
// textContent), and tick ages and progress bars.
(function () {
  "use strict";
  var body = document.body;
  var zone = body.dataset.timezone || "UTC";
  // The page and the feed are snapshots taken at generatedAt and kept until the data
  // changes, so their age says nothing about the server's clock: ages are counted on
  // the visitor's clock, and a playing track advances from the snapshot's moment.
  var generatedAt = Date.parse(body.dataset.generatedAt) || Date.now();
  var JUST_NOW_S = 5;
  var privateMode = !document.getElementById("private-note").hidden;
  var clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: zone });
  // The page's texts in its language (waken/i18n/texts.py), %(name)s filled from params.
  var TEXT = JSON.parse((document.getElementById("ui-text") || {}).textContent || "{}");
  function t(key, params) {
    return (TEXT[key] || key).replace(/%\((\w+)\)s/g, function (_, name) { return params[name]; });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function img(cls, url) {
    var node = el("img", cls);
    node.alt = "";
    node.referrerPolicy = "no-referrer";
    if (/^https?:\/\//i.test(url)) node.src = url;
    return node;
  }
  function span(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (s < JUST_NOW_S) return t("justNow");
    if (s < 60) return t("s", { n: s });
    if (m < 60) return t("min", { n: m });
    if (h < 48) return m % 60 ? t("hMin", { h: h, m: m % 60 }) : t("h", { n: h });
    return t("d", { n: Math.floor(h / 24) });
  }
  function mmss(ms) {
    var s = Math.max(0, Math.floor((ms || 0) / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function now() { return Date.now(); }

  function music(np) {
    var row = el("div", "music"), track = el("div", "track"), line = el("div", "track-line");
    row.tabIndex = 0;
    row.dataset.status = np.status || "";
    row.dataset.position = np.positionMs === null ? "" : np.positionMs;
    row.dataset.duration = np.durationMs || "";
    row.dataset.received = generatedAt;
    if (np.coverUrl) row.appendChild(img("cover", np.coverUrl));
    if (np.appIconUrl) line.appendChild(img("app-icon", np.appIconUrl));
    line.appendChild(el("span", "track-title", np.title));
    track.appendChild(line);
    if (np.singer) track.appendChild(el("div", "singer", np.singer));
    if (np.durationMs) {
      var bar = el("div", "progress-row"), progress = el("progress");
      progress.max = np.durationMs;
      progress.value = np.positionMs || 0;
      bar.append(progress, el("span", "progress-time", mmss(np.positionMs) + " / " + mmss(np.durationMs)));
      track.appendChild(bar);
    }
    row.appendChild(track);
    var card = el("div", "hovercard"), text = el("div", "hover-text");
    card.setAttribute("role", "tooltip");
    if (np.coverUrl) card.appendChild(img("hover-cover", np.coverUrl));
    text.appendChild(el("strong", "hover-title", np.title));
    if (np.singer) text.appendChild(el("span", "hover-singer", np.singer));
    if (np.album) text.appendChild(el("span", "hover-album", t("album", { album: np.album })));
    if (np.source) text.appendChild(el("span", "hover-source", t("source", { source: np.source })));
    card.appendChild(text);
    row.appendChild(card);
    return row;
  }

  function battery(b) {
    if (b.percent === null && b.charging === null) return null;
    var text = (b.percent !== null ? b.percent + "%" : "") + (b.charging ? " " + t("charging") : "");
    var node = el("span", "battery" + (b.charging ? " charging" : ""), text.trim());
    node.title = t("battery");
    return node;
  }

  function card(item) {
    var node = el("article", "card"), head = el("div", "card-head"), icon = el("span");
    node.dataset.mode = item.pushMode;
    icon.className = "type-icon type-" + (["desktop", "tablet", "mobile"].indexOf(item.deviceType) >= 0 ? item.deviceType : "desktop");
    icon.setAttribute("role", "img");
    icon.setAttribute("aria-label", t(item.deviceType || "device"));
    head.append(icon, el("span", "device", item.device));
    var b = battery(item.battery);
    if (b) head.appendChild(b);
    // An app rule may hide the app: the device still shows as online.
    node.append(head, item.locked ? el("div", "app locked", t("locked"))
      : item.processName === null ? el("div", "app no-app", t("online")) : el("div", "app", item.processName));
    if (item.processTitle) node.appendChild(el("div", "title", item.processTitle));
    if (item.pushMode === "active" && !privateMode) {
      var updated = el("div", "updated");
      updated.dataset.at = item.lastReportAt;
      node.appendChild(updated);
    }
    if (item.nowPlaying) node.appendChild(music(item.nowPlaying));
    return node;
  }

  function entry(item) {
    var node = el("li", "entry" + (item.online ? " online" : "")), time = el("time", null, clockFormat.format(new Date(item.startedAt)));
    var main = el("div", "entry-body"), first = el("div");
    time.dateTime = item.startedAt;
    first.append(el("span", "app", item.locked ? t("locked") : item.processName), " ", el("span", "device", t("onDevice", { device: item.device })));
    main.appendChild(first);
    if (item.processTitle) main.appendChild(el("div", "title", item.processTitle));
    if (item.nowPlaying) main.appendChild(music(item.nowPlaying));
    var end = item.endedAt ? Date.parse(item.endedAt) : (item.online ? now() : Date.parse(item.updatedAt));
    node.append(time, main, el("span", "duration", (item.online ? t("nowPrefix") : "") + span(end - Date.parse(item.startedAt))));
    return node;
  }

  // Agents on the page: name, state and a tool-call count only (the feed carries nothing more).
  function agentCard(a) {
    var node = el("article", "card agent-card"), head = el("div", "card-head"), line;
    node.dataset.state = a.state;
    head.appendChild(el("span", "agent-name", a.agent));
    if (a.state === "waiting") line = t("agentWaiting");
    else if (a.state === "working") {
      // The catalog's two forms: English's "1 call" and "n calls" (a language with one form has it twice).
      line = t("agentWorking") + (a.toolCalls5m ? " · " + t(a.toolCalls5m === 1 ? "toolCallsOne" : "toolCallsMany",
                                                            { num: a.toolCalls5m }) : "");
    } else line = t(a.state === "error" ? "agentErrorSince" : "agentIdleSince", { time: clockFormat.format(new Date(a.since)) });
    node.append(head, el("div", "agent-line", line));
    return node;
  }

  function renderAgents(agents) {
    var section = document.getElementById("agents"), list = document.getElementById("agent-list");
    if (!section || !list) return;
    agents = agents || [];
    list.replaceChildren.apply(list, agents.map(agentCard));
    section.hidden = agents.length === 0;
  }

  // The owner's status and private mode (shown at the top, kept live like the rest).
  function showStatus(data) {
    var box = document.getElementById("owner-status"), st = data.ownerStatus;
    box.hidden = !st;
    box.querySelector(".status-emoji").textContent = st ? st.emoji : "";
    box.querySelector(".status-text").textContent = st ? st.text : "";
    box.querySelector(".status-until").textContent = st && st.until ? t("statusUntil", { time: clockFormat.format(new Date(st.until)) }) : "";
    document.getElementById("private-note").hidden = !data.private;
  }

  function render(data) {
    renderAgents(data.agents);
    generatedAt = Date.parse(data.generatedAt) || Date.now();
    privateMode = !!data.private;
    showStatus(data);
    var current = document.getElementById("current-list"), recent = document.getElementById("recent-list");
    current.replaceChildren.apply(current, data.activeStatuses.length ? data.activeStatuses.map(card)
      : [el("p", "empty", t("noDevice"))]);
    recent.replaceChildren.apply(recent, data.recentActivities.length ? data.recentActivities.map(entry)
      : [el("li", "empty", privateMode ? t("hiddenPrivate")
        : t("nothingRecent", { n: data.historyWindowMinutes }))]);
    tick();
  }

  function tick() {
    document.querySelectorAll(".updated[data-at]").forEach(function (node) {
      var ms = now() - Date.parse(node.dataset.at);
      node.textContent = ms < JUST_NOW_S * 1000 ? t("updatedJustNow") : t("updatedAgo", { age: span(ms) });
    });
    document.querySelectorAll(".music").forEach(function (row) {
      var progress = row.querySelector("progress"), label = row.querySelector(".progress-time");
      if (!progress || row.dataset.position === "") return;
      if (!row.dataset.received) row.dataset.received = generatedAt;
      var position = Number(row.dataset.position), duration = Number(row.dataset.duration);
      if (row.dataset.status === "playing") position += Date.now() - Number(row.dataset.received);
      position = Math.min(position, duration);
      progress.value = position;
      label.textContent = mmss(position) + " / " + mmss(duration);
    });
  }

  function poll() {
    fetch("/api/activity", { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) render(body.data); })
      .catch(function () { /* the server is away; the next poll or reconnect tries again */ });
  }

  window.wakenLive({
    url: "/api/activity/stream",
    events: { activity: function (event) { render(JSON.parse(event.data).data); } },
    poll: poll,
    indicator: document.getElementById("live-status"),
  });
  setInterval(tick, 1000);
})();
