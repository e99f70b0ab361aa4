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
