// Keyboard triage for the review queue: j/k move, c confirm, d dismiss (with the chosen reason),
// e escalate. Decisions are posted with fetch and the CSRF token; nothing from posts is ever executed.
(function () {
  "use strict";
  const token = () => document.querySelector('meta[name="csrf-token"]').content;
  const items = () => Array.from(document.querySelectorAll("#queue .item"));
  let index = 0;

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
    if (action === "dismiss") body.set("reason", item.querySelector('select[name="reason"]').value);
    const response = await fetch(`/flags/${item.dataset.flag}/decide`, {
      method: "POST", body: body, headers: { Accept: "application/json", "X-CSRF-Token": token() },
      credentials: "same-origin",
    });
    const result = await response.json();
    if (response.ok) {
      item.querySelector('[data-role="status"]').textContent = result.status;
      item.classList.add("decided");
      select(index + 1);
    } else {
      alert(result.error || response.statusText);
    }
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
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
