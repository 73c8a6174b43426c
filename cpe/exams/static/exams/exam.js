// The exam paper: each answer is saved as soon as it is chosen, and a countdown shows the
// time the server gives. The server alone enforces the deadline; when the countdown ends the
// page submits what it has, and anything not saved by the deadline does not count.
"use strict";

const form = document.querySelector("[data-exam]");
if (form) startExam(form);

function formatClock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

function startExam(form) {
  const texts = JSON.parse(document.getElementById("exam-texts").textContent);
  const api = `${form.dataset.api}/exam-attempts/${form.dataset.attempt}`;
  const notice = form.querySelector("[data-exam-notice]");
  const answeredBox = form.querySelector("[data-answered]");
  const countdown = form.querySelector("[data-countdown]");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const endsAt = Date.now() + Number(form.dataset.secondsLeft) * 1000;
  let queue = Promise.resolve(); // saves go one after another, in the order chosen
  let finishing = false;

  const showNotice = (text) => {
    notice.textContent = text;
    notice.classList.toggle("hidden", !text);
  };
  const chosenOf = (fieldset) =>
    [...fieldset.querySelectorAll("input[type=radio], input[type=checkbox]")]
      .filter((input) => input.checked)
      .map((input) => Number(input.value));
  const countAnswered = () =>
    [...form.querySelectorAll("fieldset[data-position]")].filter((f) => chosenOf(f).length).length;

  const finish = () => {
    if (finishing) return;
    finishing = true;
    // The answers go with the submission; the server keeps only those in time.
    form.submit();
  };

  const save = (fieldset) => {
    const state = fieldset.querySelector("[data-save-state]");
    const chosen = chosenOf(fieldset);
    state.textContent = texts.saving;
    queue = queue.then(async () => {
      try {
        const response = await fetch(`${api}/answers/${fieldset.dataset.position}`, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ chosen }),
        });
        const body = await response.json();
        if (response.ok) {
          state.textContent = texts.saved.replace("%(time)s", new Date().toLocaleTimeString());
          fieldset.dataset.saved = "1";
          return;
        }
        state.textContent = texts.not_saved;
        showNotice(body.message);
        if (body.code === "deadline_passed" || body.code === "attempt_closed") finish();
      } catch {
        state.textContent = texts.offline;
      }
    });
  };

  form.addEventListener("change", (event) => {
    const fieldset = event.target.closest("fieldset[data-position]");
    if (!fieldset) return;
    answeredBox.textContent = countAnswered();
    save(fieldset);
  });

  form.addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.hasAttribute("data-submit-exam")) {
      const unanswered = Number(form.dataset.total) - countAnswered();
      if (unanswered > 0 && !window.confirm(texts.confirm.replace("%(count)s", unanswered))) {
        event.preventDefault();
        return;
      }
      finishing = true;
    }
  });

  const tick = () => {
    const left = (endsAt - Date.now()) / 1000;
    countdown.textContent = formatClock(left);
    form.classList.toggle("exam-ending", left < 60);
    if (left <= 1) {
      clearInterval(timer);
      showNotice(texts.time_up);
      queue.then(finish);
    }
  };
  const timer = setInterval(tick, 1000);
  tick();
}
