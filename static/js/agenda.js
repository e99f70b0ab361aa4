// Agenda editing: after a "move up/down" the page reloads at the moved item; put the keyboard
// focus back on the same button so an item can be moved several places in a row.
// Everything works without this file.
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  const direction = params.get("moved");
  const match = /^#item-(\d+)$/.exec(window.location.hash);
  if (!match || (direction !== "up" && direction !== "down")) return;
  const row = document.getElementById(`item-${match[1]}`);
  if (!row) return;
  row.classList.add("agenda-row-moved");
  const button =
    row.querySelector(`button[data-direction="${direction}"]`) ||
    row.querySelector("button[data-direction]");
  if (button) button.focus({ preventScroll: true });
  // Drop ?moved= so a reload or a bookmark does not repeat the highlight.
  params.delete("moved");
  const query = params.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`);
})();
