// Security keys and built-in authenticators (WebAuthn), as progressive
// enhancement: the pages render these controls disabled, saying why, and
// this script enables them once it has found WebAuthn in the browser. The
// ceremonies run over the JSON API; the browser does the base64url work
// (parse*OptionsFromJSON, credential.toJSON()).
"use strict";
(() => {
  const unsupported = "This browser does not support security keys (WebAuthn). Use a current version of Chrome, Edge, Firefox or Safari, or another kind of MFA device.";
  const noPlatform = "This device has no built-in authenticator set up (such as Touch ID, Windows Hello or a screen lock).";

  function supported() {
    const P = window.PublicKeyCredential;
    return typeof P === "function" && typeof P.parseCreationOptionsFromJSON === "function" &&
      typeof P.parseRequestOptionsFromJSON === "function" && !!navigator.credentials;
  }

  async function platformAvailable() {
    try {
      return await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
    } catch {
      return false;
    }
  }

  // showError shows a failure the way the server shows its own.
  function showError(code, message) {
    const main = document.getElementById("main");
    let alert = main.querySelector(":scope > .alert.error");
    if (!alert) {
      alert = document.createElement("div");
      alert.className = "alert error";
      alert.setAttribute("role", "alert");
      alert.setAttribute("aria-live", "assertive");
      alert.appendChild(document.createElement("p"));
      main.prepend(alert);
    }
    alert.dataset.code = code;
    alert.querySelector("p").textContent = message;
    main.querySelector(":scope > .alert.notice")?.remove();
  }

  function failure(code, message, status) {
    const e = new Error(message);
    e.code = code;
    e.status = status || 0;
    return e;
  }

  async function api(method, path, body) {
    const init = {method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    let data = null;
    try {
      data = await r.json();
    } catch {
      // No JSON body (204).
    }
    if (!r.ok) {
      throw failure(data?.error?.code || "http_" + r.status, data?.error?.message || "The server answered " + r.status + ". Try again.", r.status);
    }
    return data;
  }

  // browserFailure explains why navigator.credentials refused.
  function browserFailure(err, registering) {
    switch (err && err.name) {
    case "NotAllowedError":
    case "AbortError":
      return failure("cancelled", "The security key request was cancelled or timed out. Try again.");
    case "InvalidStateError":
      if (registering) return failure("conflict", "This security key is already registered.");
      break;
    case "SecurityError":
      return failure("not_allowed", "The browser refused to use security keys at this address. Open the portal at its usual address.");
    case "NotSupportedError":
      return failure("not_supported", "This authenticator cannot do what the portal asks (an ES256 or RS256 key).");
    }
    return failure("browser_error", (err && err.message) || String(err));
  }

  // The type choice: enable Security key and Built-in authenticator.
  async function initTypeChoice(form) {
    for (const input of form.querySelectorAll("input[data-webauthn]")) {
      if (input.hasAttribute("data-blocked")) continue;
      const reason = document.getElementById("reason-" + input.value);
      if (!supported()) {
        reason.textContent = unsupported;
        continue;
      }
      if (input.dataset.webauthn === "built_in" && !(await platformAvailable())) {
        reason.textContent = noPlatform;
        continue;
      }
      input.disabled = false;
      reason.textContent = "";
    }
    const enabled = form.querySelectorAll("input[name=type]:not(:disabled)");
    if (enabled.length && !form.querySelector("input[name=type]:checked")) enabled[0].checked = true;
    document.getElementById("choose-next").disabled = enabled.length === 0;
  }

  // Device name, then the browser's registration prompt.
  async function initRegister(form) {
    const button = document.getElementById("webauthn-register-button");
    const status = document.getElementById("webauthn-register-status");
    if (form.hasAttribute("data-blocked")) return;
    if (!supported()) {
      status.textContent = unsupported;
      return;
    }
    if (form.dataset.type === "built_in" && !(await platformAvailable())) {
      status.textContent = noPlatform;
      return;
    }
    button.disabled = false;
    status.textContent = "";
    const name = form.elements.name;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      button.disabled = true;
      status.textContent = "Follow your browser's prompt.";
      let id = "";
      try {
        const dev = await api("POST", "/api/v1/me/mfa-devices", {name: name.value, type: form.dataset.type});
        id = dev.id;
        let cred;
        try {
          cred = await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(dev.options)});
        } catch (err) {
          throw browserFailure(err, true);
        }
        await api("POST", "/api/v1/me/mfa-devices/" + encodeURIComponent(id) + "/verify", {credential: cred.toJSON()});
        status.textContent = "Registered.";
        location.assign(form.dataset.next || "/devices?registered=" + encodeURIComponent(id));
      } catch (err) {
        if (id) {
          // Cancel the pending registration; it would expire anyway.
          api("DELETE", "/api/v1/me/mfa-devices/" + encodeURIComponent(id)).catch(() => {});
        }
        showError(err.code || "error", err.message);
        status.textContent = "";
        button.disabled = false;
        if (err.code === "name_taken" || err.code === "name_invalid") {
          name.setAttribute("aria-invalid", "true");
          name.focus();
        }
      }
    });
  }

  // The MFA step: Use your security key.
  function initSignIn(box) {
    const button = document.getElementById("webauthn-signin-button");
    const status = document.getElementById("webauthn-signin-status");
    if (box.hasAttribute("data-blocked")) return;
    if (!supported()) {
      status.textContent = unsupported;
      return;
    }
    button.disabled = false;
    status.textContent = "";
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Follow your browser's prompt.";
      try {
        const begun = await api("POST", "/api/v1/auth/webauthn/begin", {});
        let cred;
        try {
          cred = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begun.options)});
        } catch (err) {
          throw browserFailure(err, false);
        }
        const trust = document.querySelector("input[name=trust_device]");
        const res = await api("POST", "/api/v1/auth/webauthn/finish", {credential: cred.toJSON(), trust_device: !!(trust && trust.checked)});
        const next = box.dataset.next || "/";
        status.textContent = "Signed in.";
        location.assign(res.state === "password_change_required" ? "/password/change?next=" + encodeURIComponent(next) : next);
      } catch (err) {
        if (err.code === "unauthenticated") {
          location.assign("/signin");
          return;
        }
        showError(err.code || "error", err.message);
        status.textContent = "";
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const choose = document.getElementById("choose-type");
    if (choose) initTypeChoice(choose);
    const register = document.getElementById("webauthn-register");
    if (register) initRegister(register);
    const signin = document.getElementById("webauthn-signin");
    if (signin) initSignIn(signin);
  });
})();
