// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy the secret key without the spaces it is displayed with.
  for (const btn of document.querySelectorAll("button.copy[data-copy]")) {
    if (!navigator.clipboard) continue;
    btn.hidden = false;
    btn.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(btn.dataset.copy);
        btn.textContent = "Copied";
      } catch {
        btn.textContent = "Copy failed: select the key instead";
      }
      setTimeout(() => { btn.textContent = "Copy"; }, 3000);
    });
  }
  // The QR toggle's label reads as what it will do next.
  const toggle = document.getElementById("show-qr");
  const label = document.getElementById("show-qr-label");
  if (toggle && label) {
    toggle.addEventListener("change", () => {
      label.textContent = toggle.checked ? "Hide QR code" : "Show QR code";
    });
  }
});
