// Small helpers for every page: keep what a person typed in a form until the server took it
// (a session that ended, a stale page), and mark the form that was just saved.
(function () {
  "use strict";
  const key = (form) => "draft:" + location.pathname + ":" + form.dataset.draft;
  const saved = (document.body.dataset.done || "").split(",").filter(Boolean);
  document.querySelectorAll("form[data-draft]").forEach((form) => {
    const name = form.dataset.draft;
    if (saved.includes(name)) sessionStorage.removeItem(key(form));
    const draft = JSON.parse(sessionStorage.getItem(key(form)) || "null");
    if (draft && !form.dataset.fresh) {
      for (const [field, value] of Object.entries(draft)) {
        const input = form.elements.namedItem(field);
        if (!input || input.type === "hidden" || input.type === "password") continue;
        if (input.type === "checkbox") input.checked = value === "on";
        else if (!input.value || input.dataset.kept !== "server") input.value = value;
      }
    }
    const remember = () => {
      const data = {};
      for (const input of form.elements) {
        if (!input.name || input.type === "hidden" || input.type === "password") continue;
        data[input.name] = input.type === "checkbox" ? (input.checked ? "on" : "") : input.value;
      }
      sessionStorage.setItem(key(form), JSON.stringify(data));
    };
    form.addEventListener("input", remember);
    form.addEventListener("submit", remember);
  });
})();
