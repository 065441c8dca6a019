// Small page behaviours without inline script, so the Content-Security-Policy
// can forbid inline script altogether: print, open and close a dialog.
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  if (target.closest("[data-print]")) {
    window.print();
    return;
  }
  const opener = target.closest("[data-open-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    if (dialog && typeof dialog.showModal === "function") dialog.showModal();
    return;
  }
  const closer = target.closest("[data-close-dialog]");
  if (closer) {
    const dialog = closer.closest("dialog");
    if (dialog) dialog.close();
  }
});

// A form in a dialog that was refused comes back open, its refused field
// focused, so the message under it is read and what was typed is at hand.
(function () {
  function reopen() {
    const field = document.querySelector('dialog [aria-invalid="true"]');
    const dialog = field ? field.closest("dialog") : null;
    if (!dialog || typeof dialog.showModal !== "function" || dialog.open) return;
    dialog.showModal();
    field.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", reopen);
  else reopen();
})();

// Tabs (the nurse's visit page): one panel at a time, chosen by the address's
// #fragment so a reload or a saved form comes back to the same tab; a refused
// form opens the tab that holds it. Without script every panel shows.
(function () {
  const FORM_TABS = { step: "tab-referral", complete: "tab-complete" };
  function setUp(list) {
    const tabs = Array.from(list.querySelectorAll('[role="tab"]'));
    const panelOf = (tab) => document.getElementById(tab.getAttribute("aria-controls"));
    function select(tab, focus) {
      tabs.forEach((other) => {
        const on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        const panel = panelOf(other);
        if (panel) panel.hidden = !on;
      });
      if (focus) tab.focus();
    }
    function initial() {
      const invalid = document.querySelector('.tabpanel [aria-invalid="true"], .tabpanel .field-error, .tabpanel .confirm-dose');
      const withError = invalid ? invalid.closest(".tabpanel") : null;
      if (withError) return withError.id;
      const form = window.location.pathname.split("/").filter(Boolean).pop();
      if (document.querySelector('[role="alert"][data-code]') && form && !/^\d+$/.test(form)) {
        return FORM_TABS[form] || "tab-document";
      }
      return window.location.hash.slice(1) || list.getAttribute("data-tabs");
    }
    const wanted = tabs.find((tab) => tab.getAttribute("aria-controls") === initial());
    select(wanted || tabs[0], false);
    list.addEventListener("click", (event) => {
      const tab = event.target instanceof Element ? event.target.closest('[role="tab"]') : null;
      if (!tab) return;
      event.preventDefault();
      select(tab, false);
      history.replaceState(null, "", "#" + tab.getAttribute("aria-controls"));
    });
    list.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(document.activeElement);
      if (at < 0) return;
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      const next = tabs[(at + step + tabs.length) % tabs.length];
      select(next, true);
      history.replaceState(null, "", "#" + next.getAttribute("aria-controls"));
    });
  }
  const start = () => document.querySelectorAll("[data-tabs]").forEach(setUp);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
