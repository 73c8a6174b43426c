// The public credit query's browser check: when the server asks for a proof-of-work, solve
// its challenge in a Web Worker (pow-worker.js: SHA-256 hashcash with WebCrypto), so a phone's
// page stays responsive, show the progress, and send the form with the answer.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-pow-challenge]");
  if (!form) return;
  const text = form.querySelector("[data-pow-text]");
  const bar = form.querySelector("[data-pow-status] progress");
  const button = form.querySelector("button[type=submit]");
  const bits = Number(form.dataset.powBits);
  const expected = 2 ** bits; // tries needed on average
  let solved = false;

  const say = (message) => {
    text.textContent = message;
  };
  const working = (tried) => say(form.dataset.powWorking.replace("{tried}", tried.toLocaleString()));

  const solve = () =>
    new Promise((resolve, reject) => {
      if (!window.Worker || !window.crypto || !window.crypto.subtle) {
        reject(new Error("unsupported"));
        return;
      }
      const worker = new Worker(form.dataset.powWorker);
      worker.onmessage = (event) => {
        const data = event.data;
        if (data.error) {
          worker.terminate();
          reject(new Error(data.error));
        } else if (data.counter !== undefined) {
          worker.terminate();
          resolve(data.counter);
        } else {
          // The chance of having found it by now, so the bar moves steadily.
          bar.value = Math.min(99, Math.round(100 * (1 - Math.exp(-data.tried / expected))));
          working(data.tried);
        }
      };
      worker.onerror = () => {
        worker.terminate();
        reject(new Error("worker"));
      };
      worker.postMessage({ challenge: form.dataset.powChallenge, bits });
    });

  const start = () => {
    button.disabled = true;
    bar.classList.remove("hidden");
    working(0);
    solve().then(
      (counter) => {
        form.elements.pow_challenge.value = form.dataset.powChallenge;
        form.elements.pow_counter.value = counter;
        solved = true;
        bar.value = 100;
        say(form.dataset.powDone);
        form.submit();
      },
      () => {
        say(form.dataset.powUnsupported);
        button.disabled = false;
      },
    );
  };

  form.addEventListener("submit", (event) => {
    if (solved) return;
    event.preventDefault();
    start();
  });

  // The server asked for the check after the button was pressed: carry on by ourselves.
  if ("powAutostart" in form.dataset) start();
});
