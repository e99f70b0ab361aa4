// Knotenpunkt: small progressive enhancements. Every page works without this file.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // Guard against double submits: disable the buttons once the form is on its way.
  if (form.method.toLowerCase() === "post") {
    window.setTimeout(() => {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach((button) => {
        button.disabled = true;
      });
    }, 0);
  }
});

// The navigation is open in the HTML (usable without JavaScript); fold it on narrow screens
// and keep it open on wide ones.
const navToggle = document.querySelector("details.nav-toggle");
if (navToggle) {
  const wide = window.matchMedia("(min-width: 761px)");
  const sync = () => {
    navToggle.open = wide.matches;
  };
  sync();
  wide.addEventListener("change", sync);
}

// Copy buttons beside read-only addresses (calendar feeds). Without JavaScript the buttons stay
// hidden and the address can be selected by hand; a click into the field selects it all.
document.querySelectorAll("button.copy-button[data-copy-target]").forEach((button) => {
  const field = document.getElementById(button.dataset.copyTarget);
  if (!field) return;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      document.execCommand("copy");
    }
    button.textContent = button.dataset.copiedLabel || label;
    window.setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
});
document.querySelectorAll(".feed-url input[readonly]").forEach((field) => {
  field.addEventListener("focus", () => field.select());
});
