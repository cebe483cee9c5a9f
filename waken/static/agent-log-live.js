// Agent Activities: follow /api/activities/stream (through live.js) and offer a reload when
// records arrive after the page was drawn.
(function () {
  "use strict";
  var notice = document.getElementById("new-records");
  if (!notice) return;
  var text = document.getElementById("new-records-text");
  var lastId = Number(notice.dataset.latestId) || 0, arrived = 0;
  var TEXT = JSON.parse(document.getElementById("ui-text").textContent);   // waken/i18n/texts.py

  function announce() {
    text.textContent = arrived === 1 ? TEXT.newRecord : TEXT.newRecords.replace("%(n)s", arrived);
    notice.hidden = false;
  }

  function onMessage(event) {
    var payload = JSON.parse(event.data);
    if (payload.type !== "new" || payload.activity.id <= lastId) return;
    lastId = payload.activity.id;
    arrived += 1;
    announce();
  }

  function poll() {
    fetch("/api/activities?limit=500&sort=newest", { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) {
        if (!page) return;
        var fresh = page.activities.filter(function (a) { return a.id > lastId; });
        if (!fresh.length) return;
        lastId = Math.max.apply(null, fresh.map(function (a) { return a.id; }));
        arrived += fresh.length;
        announce();
      })
      .catch(function () { /* the server is away; the next poll or reconnect tries again */ });
  }

  window.wakenLive({
    url: function () { return "/api/activities/stream?lastEventId=" + lastId; },
    events: { message: onMessage },
    poll: poll,
    indicator: document.getElementById("live-status"),
  });
})();
