// Keyboard triage for the review queue: j/k move, c confirm, e escalate, d dismiss.
// A dismissal needs a reason the reviewer picks: `d` focuses the item's reason list when none is
// chosen yet (nothing is preselected), and Enter on the list (or `d` once a reason is chosen) sends it.
// Decisions are posted with fetch and the CSRF token; nothing from posts is ever executed.
// Failures are shown on the page (#notice). When the session has ended the server answers a JSON
// 401: the reviewer is told so and sent to the login page, which brings them back here.
(function () {
  "use strict";
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const token = () => meta("csrf-token");
  const items = () => Array.from(document.querySelectorAll("#queue .item"));
  let index = 0;

  function notice(message) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.textContent = message; // text, never HTML
    box.hidden = false;
  }

  function loginAgain(login) {
    const url = new URL(login || "/login", location.origin);
    url.searchParams.set("next", location.pathname + location.search);
    url.searchParams.set("expired", "1");
    // a moment to read the message; the login page repeats it
    setTimeout(() => location.assign(url.pathname + url.search), 1500);
  }

  function select(i) {
    const all = items();
    if (!all.length) return;
    index = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((el, n) => el.classList.toggle("current", n === index));
    all[index].focus({ preventScroll: true });
    all[index].scrollIntoView({ block: "nearest" });
  }

  async function decide(item, action) {
    const body = new URLSearchParams({ action: action, csrf_token: token() });
    if (action === "dismiss") {
      const reasons = item.querySelector('select[name="reason"]');
      if (!reasons || !reasons.value) {
        if (reasons) reasons.focus();
        notice(meta("msg-choose-reason"));
        return;
      }
      body.set("reason", reasons.value);
    }
    let response;
    try {
      response = await fetch(`/flags/${item.dataset.flag}/decide`, {
        method: "POST", body: body, headers: { Accept: "application/json", "X-CSRF-Token": token() },
        credentials: "same-origin",
      });
    } catch (error) {
      notice(String(error));
      return;
    }
    let result = {};
    try {
      result = await response.json();
    } catch (error) {
      result = {};
    }
    if (response.ok) {
      item.querySelector('[data-role="status"]').textContent = result.status_label || result.status;
      item.classList.add("decided");
      const box = document.getElementById("notice");
      if (box) box.hidden = true;
      select(items().indexOf(item) + 1);
    } else if (response.status === 401) {
      notice(result.error || meta("msg-session-expired"));
      loginAgain(result.login);
    } else {
      notice(result.error || `${response.status} ${response.statusText}`);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const reasons = event.target.closest && event.target.closest('#queue select[name="reason"]');
    if (reasons) {
      if (event.key === "Enter" && reasons.value) {
        event.preventDefault();
        const item = reasons.closest(".item");
        index = items().indexOf(item);
        decide(item, "dismiss");
      }
      return;
    }
    if (event.target.closest("input, select, textarea")) return;
    const current = items()[index];
    if (event.key === "j") select(index + 1);
    else if (event.key === "k") select(index - 1);
    else if (current && current.querySelector(".actions") && { c: 1, d: 1, e: 1 }[event.key]) {
      decide(current, { c: "confirm", d: "dismiss", e: "escalate" }[event.key]);
    } else return;
    event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (button && navigator.clipboard) navigator.clipboard.writeText(button.dataset.copy);
  });

  document.addEventListener("DOMContentLoaded", () => select(0));
})();
