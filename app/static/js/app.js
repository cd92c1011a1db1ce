// The browser's time zone, which the pages show times in while the account sets none
// (read by the server from this cookie; without script, times show in UTC).
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone) && !document.cookie.split("; ").includes(`tz=${zone}`)) {
    document.cookie = `tz=${zone}; path=/; max-age=31536000; samesite=lax`;
  }
})();

// Progressive enhancement: delete with DELETE and the CSRF header, after a confirmation.
// Without script, the same forms post to /{path}/{id}/delete.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.delete) return;
  event.preventDefault();
  if (!window.confirm("Delete this record? This cannot be undone.")) return;
  const token = form.querySelector('input[name="csrf_token"]')?.value ?? "";
  // The redirect is not followed here: following it would load the next page, and so
  // use up its flash message ("... deleted."), before the browser shows it.
  const response = await fetch(form.dataset.delete, {
    method: "DELETE",
    headers: { "X-CSRF-Token": token },
    credentials: "same-origin",
    redirect: "manual",
  });
  if (response.type === "opaqueredirect" || response.ok) {
    window.location.assign(form.dataset.next);
  } else {
    document.open();
    document.write(await response.text());
    document.close();
  }
});

// Colour swatches: the colour rides in data-color (the Content-Security-Policy allows no
// style attributes); without script the hex value beside it still says which colour.
for (const swatch of document.querySelectorAll(".swatch[data-color]")) {
  if (/^#[0-9a-fA-F]{6}$/.test(swatch.dataset.color)) {
    swatch.style.backgroundColor = swatch.dataset.color;
  }
}

// The permission matrix's row and column toggles (shown only with script): a whole row (a
// model) or column (an action and scope) is checked at once, or unchecked when all already
// are. Nothing is saved until the form is.
for (const toggle of document.querySelectorAll("button[data-toggle]")) {
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const key = toggle.dataset.key;
    const boxes = [...toggle.closest("form").querySelectorAll('input[name="grant"]')].filter(
      (box) =>
        toggle.dataset.toggle === "row" ? box.value.startsWith(`${key}:`) : box.value.endsWith(`:${key}`),
    );
    const check = !boxes.every((box) => box.checked);
    for (const box of boxes) box.checked = check;
  });
}

// The error summary: focused when the page loads (where `autofocus` is not honoured), and
// each of its links moves focus to its field, not just the scroll position.
const summary = document.getElementById("error-summary");
if (summary && document.activeElement !== summary) summary.focus();
summary?.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[href^="#"]') : null;
  const field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  (field.closest(".field") ?? field).scrollIntoView();
  field.focus();
});
