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
  // How long the code an authenticator app shows now stays current, by the
  // server's clock (the page carries it), so a browser whose clock is off
  // still counts right. Without this script the hint stays hidden.
  const countdown = document.getElementById("code-countdown");
  const serverTime = Number(countdown?.dataset.serverTime);
  if (countdown && serverTime > 0) {
    const period = Number(countdown.dataset.period) || 30;
    const offset = serverTime * 1000 - Date.now();
    const tick = () => {
      const now = (Date.now() + offset) / 1000;
      const left = Math.max(1, Math.ceil(period - (now % period)));
      countdown.textContent = "The code in your app changes in " + left + (left === 1 ? " second." : " seconds.");
      countdown.classList.toggle("soon", left <= 5);
      countdown.hidden = false;
    };
    tick();
    setInterval(tick, 1000);
  }
});
