// Small progressive enhancements: the language switcher and live job progress.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
    const button = select.form.querySelector("button");
    if (button) button.classList.add("visually-hidden");
  }

  const job = document.querySelector("[data-job-url]");
  if (job && job.dataset.finished !== "1") {
    const poll = async () => {
      let data;
      try {
        const response = await fetch(job.dataset.jobUrl, { credentials: "same-origin" });
        if (!response.ok) return setTimeout(poll, 5000);
        data = await response.json();
      } catch (error) {
        return setTimeout(poll, 5000);
      }
      job.querySelector("progress").value = data.percent;
      for (const field of job.querySelectorAll("[data-job-field]")) {
        field.textContent = data[field.dataset.jobField] ?? "";
      }
      const badge = job.querySelector(".badge");
      badge.className = `badge state-${data.state}`;
      if (data.download_url) job.querySelector("[data-job-download]").classList.remove("hidden");
      if (data.state === "succeeded" || data.state === "failed") return;
      setTimeout(poll, 1500);
    };
    setTimeout(poll, 1000);
  }
});
