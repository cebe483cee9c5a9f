// Small conveniences for the admin pages; every page works without this file.
"use strict";

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "wwd-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function textOf(el) {
  return "value" in el && el.tagName !== "BUTTON" ? el.value : el.textContent.trim();
}

async function copyText(el) {
  const text = textOf(el);
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a LAN address has no clipboard API: select and use the old command.
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

document.addEventListener("DOMContentLoaded", () => {
  const TEXT = JSON.parse(document.getElementById("ui-text").textContent);   // waken/i18n/texts.py
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copy);
      try {
        await copyText(target);
        button.textContent = TEXT.copied;
      } catch (err) {
        button.textContent = TEXT.copyFailed;
      }
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }

  for (const button of document.querySelectorAll("button.random-key")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      document.getElementById(button.dataset.target).value = randomKey();
    });
  }

  const keyForm = document.querySelector("form.random-key-form");
  if (keyForm) {
    keyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = randomKey();
      document.getElementById("generated-key").textContent = key;
      const link = document.getElementById("generated-link");
      const url = new URL(link.href, location.href);
      url.searchParams.set("new_key", key);
      link.href = url.pathname + url.search;
      document.getElementById("generated-box").hidden = false;
    });
  }

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
