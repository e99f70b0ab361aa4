// Check-in and sign-in sheet: instant saving and filtering, and the print button.
// Everything works without this file: the forms post and the server redirects back.
"use strict";

(() => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });

  const list = document.getElementById("checkin-list");
  if (!list) return;
  const rows = Array.from(list.querySelectorAll(".checkin-row"));
  const live = document.getElementById("checkin-live");

  // Filter the rows as one types; the server-side ?q= search stays for Enter and no-JS use.
  const search = document.querySelector("[data-checkin-filter]");
  const noMatch = document.getElementById("checkin-no-match");
  const filter = () => {
    const needle = search.value.trim().toLocaleLowerCase();
    let shown = 0;
    rows.forEach((row) => {
      const match = !needle || (row.dataset.search || "").includes(needle);
      row.hidden = !match;
      if (match) shown += 1;
    });
    if (noMatch) noMatch.hidden = shown > 0 || rows.length === 0;
  };
  if (search) search.addEventListener("input", filter);

  const showStatus = (form, status) => {
    form.querySelectorAll("button[name=status]").forEach((button) => {
      button.setAttribute("aria-pressed", button.value === status ? "true" : "false");
    });
    const row = form.closest(".checkin-row");
    if (row) row.dataset.status = status;
  };

  const showCounts = (counts) => {
    document.querySelectorAll("[data-count]").forEach((element) => {
      const value = counts[element.dataset.count];
      if (value !== undefined) element.textContent = String(value);
    });
  };

  // Save each click with fetch; on any failure submit the form the ordinary way instead.
  list.addEventListener("submit", async (event) => {
    const form = event.target;
    const button = event.submitter;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-checkin-form")) return;
    if (form.dataset.plainSubmit) return; // the fallback below: let app.js and the browser go
    if (!button || button.name !== "status") return;
    event.preventDefault();
    // app.js would disable the buttons for a page load that does not come.
    event.stopPropagation();
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    form.setAttribute("aria-busy", "true");
    const token = form.querySelector("input[name=csrf_token]");
    const body = new FormData(form);
    body.set("status", button.value);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "X-CSRFToken": token ? token.value : "",
        },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      showStatus(form, data.status);
      showCounts(data.counts || {});
      if (live) {
        const name = form.closest(".checkin-row")?.querySelector(".checkin-name");
        live.textContent = `${name ? name.textContent : ""}: ${button.textContent.trim()}`;
      }
    } catch (error) {
      form.dataset.plainSubmit = "1";
      form.requestSubmit(button);
    } finally {
      delete form.dataset.busy;
      form.removeAttribute("aria-busy");
    }
  });
})();
