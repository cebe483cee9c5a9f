// A live stream that never gives up: re-open an EventSource after any failure (a 503, a
// network error, a server restart) with backoff and jitter, poll a JSON snapshot while the
// stream is refused, and tell the visitor which of the two is happening.
(function () {
  "use strict";
  var FIRST_DELAY_MS = 2000, MAX_DELAY_MS = 60000, POLL_MS = 30000;
  var TEXT = JSON.parse((document.getElementById("ui-text") || {}).textContent || "{}");   // waken/i18n/texts.py

  // options: url (a string, or a function giving the address for each attempt), events ({name: handler(event)}), poll (a function called while refused),
  // indicator (an element whose text and data-state show "live" or "reconnecting").
  window.wakenLive = function (options) {
    var source = null, failures = 0, retryTimer = null, pollTimer = null;

    function show(state) {
      var node = options.indicator;
      if (!node) return;
      node.hidden = false;
      node.dataset.state = state;
      node.textContent = state === "live" ? TEXT.live : TEXT.reconnecting;
      node.title = state === "live" ? TEXT.liveTitle : TEXT.reconnectingTitle;
    }

    function delay() {
      // Doubling from 2 s, capped at 60 s; jitter keeps many pages from coming back at once.
      var ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, failures));
      return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    }

    function startPolling() {
      if (pollTimer || !options.poll) return;
      pollTimer = setInterval(options.poll, POLL_MS);
    }

    function stopPolling() {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
    }

    function failed() {
      if (source) source.close();
      source = null;
      show("reconnecting");
      startPolling();
      if (!retryTimer) {
        retryTimer = setTimeout(function () { retryTimer = null; open(); }, delay());
        failures += 1;
      }
    }

    function open() {
      source = new EventSource(typeof options.url === "function" ? options.url() : options.url);
      source.onopen = function () {
        failures = 0;
        stopPolling();
        show("live");
      };
      // EventSource itself gives up for good on a refused (non-200) stream, and retries a
      // dropped one on its own schedule: close it either way and follow ours.
      source.onerror = failed;
      Object.keys(options.events).forEach(function (name) {
        source.addEventListener(name, options.events[name]);
      });
    }

    if (!window.EventSource) return;
    open();
  };
})();
