// "Helpful" votes without a page reload. Without JavaScript the same forms post and
// redirect back; with it, the vote is sent in the background and the button and count
// update in place.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("helpful-form")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const isJson = (response.headers.get("Content-Type") || "").startsWith("application/json");
    const count = form.parentElement.querySelector(".helpful-count");
    if (response.status === 429 && isJson && count) {
      // Too many votes in a short while: say so here; posting again would count again.
      count.textContent = (await response.json()).error;
      return;
    }
    if (!response.ok || !isJson) {
      // Signed out, refused or gone: let the server answer with its own page and message.
      form.submit();
      return;
    }
    const data = await response.json();
    button.setAttribute("aria-pressed", data.voted ? "true" : "false");
    button.classList.toggle("btn-dark", data.voted);
    button.classList.toggle("btn-outline-dark", !data.voted);
    if (count) count.textContent = data.helpful_count_text;
  } catch (error) {
    form.submit(); // the network failed: the plain form post still works
  } finally {
    button.disabled = false;
  }
});
