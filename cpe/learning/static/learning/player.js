// The lesson player: plays the lesson, reports a heartbeat every few seconds and follows
// what the server answers. The server alone decides what counts; the player only keeps an
// honest learner from losing time: no seeking past the verified point, the speed held at
// the allowed maximum, a pause for the attention check, and a clear word when another tab
// or device takes over.
"use strict";

const root = document.querySelector("[data-study-player]");
if (root) startPlayer(root);

function formatTime(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

async function startPlayer(root) {
  const texts = JSON.parse(document.getElementById("player-texts").textContent);
  const api = root.dataset.api;
  const duration = Number(root.dataset.duration);
  const video = root.querySelector("video");
  const notice = root.querySelector("[data-notice]");
  const bar = root.querySelector("[data-verified-bar]");
  const verifiedText = root.querySelector("[data-verified-text]");
  const completeBox = root.querySelector("[data-complete]");
  const dialog = root.querySelector("[data-attention]");
  const headers = {
    "Content-Type": "application/json",
    "X-CSRFToken": root.querySelector("input[name=csrfmiddlewaretoken]").value,
  };
  const post = (path, body, extra = {}) =>
    fetch(api + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { ...headers, ...extra },
      body: JSON.stringify(body || {}),
    });

  const showNotice = (text) => {
    notice.textContent = text;
    notice.classList.toggle("hidden", !text);
  };
  const render = (verified, completed) => {
    bar.value = duration ? Math.min(100, (verified / duration) * 100) : 0;
    verifiedText.textContent = texts.verified
      .replace("%(verified)s", formatTime(verified))
      .replace("%(length)s", formatTime(duration));
    if (completed) {
      completeBox.classList.remove("hidden");
      root.dataset.completed = "1";
    }
  };

  const started = await post(`/lessons/${root.dataset.lesson}/sessions`);
  const session = await started.json();
  if (!started.ok) {
    showNotice(session.message);
    return;
  }
  root.dataset.session = session.session;
  render(session.verified_seconds, session.completed);

  let seq = 0;
  let furthest = session.furthest; // seconds; seeking beyond it is refused
  let lastGood = session.position; // the last point reached by playing
  let played = false; // the media played since the last heartbeat
  let hiddenDuringInterval = false; // reading: the page was hidden since the last heartbeat
  let stopped = false;
  let waitingForAnswer = false;
  let queue = Promise.resolve(); // heartbeats go one after another, in order
  let ticket = null; // the last answer's state ticket, sent back with the next heartbeat
  let timer = null;

  const stop = (message) => {
    stopped = true;
    clearInterval(timer);
    if (video) video.pause();
    showNotice(message);
    root.dataset.stopped = "1";
  };

  const askAttention = (question) => {
    waitingForAnswer = true;
    if (video) video.pause();
    dialog.querySelector("[data-attention-question]").textContent = question;
    dialog.querySelector("[data-attention-error]").classList.add("hidden");
    if (!dialog.open) dialog.showModal();
  };

  const handle = async (response) => {
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      return;
    }
    if (!response.ok) {
      if (response.status === 404 || response.status === 403) stop(data.message);
      return;
    }
    ticket = data.ticket || null;
    furthest = Math.max(furthest, data.furthest);
    render(data.verified_seconds, data.completed);
    if (data.stop) stop(data.stop.message);
    else if (data.attention) askAttention(data.attention.question);
    root.dataset.beats = String(seq);
  };

  const beat = (state, position, visible = true) => {
    if (stopped) return;
    seq += 1;
    const body = {
      seq,
      position: Math.max(0, position),
      state,
      rate: video ? video.playbackRate : 1,
      visible,
    };
    queue = queue
      // The session's token proves the heartbeat is ours (the server's fast path).
      // The previous answer has arrived by now (heartbeats go in order): its ticket spares
      // the server a read.
      .then(() =>
        post(
          `/sessions/${session.session}/heartbeats`,
          ticket ? { ...body, ticket } : body,
          { "X-Study-Token": session.token },
        ),
      )
      .then(handle)
      .catch(() => showNotice(texts.offline));
  };

  if (video) {
    const maxRate = session.max_rate;
    video.src = video.dataset.src;
    video.defaultPlaybackRate = Math.min(1, maxRate);
    video.addEventListener("loadedmetadata", () => {
      if (session.position > 0) video.currentTime = session.position;
      video.playbackRate = Math.min(1, maxRate);
    });
    video.addEventListener("ratechange", () => {
      if (video.playbackRate > maxRate) video.playbackRate = maxRate;
    });
    video.addEventListener("play", () => {
      if (stopped || waitingForAnswer) video.pause();
    });
    video.addEventListener("timeupdate", () => {
      if (video.seeking) return;
      const time = video.currentTime;
      if (time <= furthest + 1.5) {
        if (!video.paused) {
          played = true;
          furthest = Math.max(furthest, time);
        }
        lastGood = time;
      }
    });
    video.addEventListener("seeking", () => {
      if (video.currentTime > furthest + 1) {
        // Forward past what was watched: back to where playing was.
        video.currentTime = lastGood;
        showNotice(texts.seek_refused);
        root.dataset.seekRefused = String(Number(root.dataset.seekRefused || 0) + 1);
        return;
      }
      // An allowed seek: first report the playing up to where it was.
      if (played) {
        beat("playing", lastGood);
        played = !video.paused;
      }
      lastGood = video.currentTime;
    });
    const report = () => {
      const state = video.ended ? "ended" : played ? "playing" : "paused";
      played = !video.paused && !video.ended;
      beat(state, video.currentTime);
    };
    video.addEventListener("pause", report);
    video.addEventListener("ended", report);
    timer = setInterval(report, session.heartbeat_seconds * 1000);
  } else {
    const report = (visible) => {
      beat("playing", 0, visible);
    };
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") {
        report(!hiddenDuringInterval);
        hiddenDuringInterval = true;
      } else {
        report(false);
        hiddenDuringInterval = false;
      }
    });
    timer = setInterval(() => {
      const visible = document.visibilityState === "visible";
      report(visible && !hiddenDuringInterval);
      hiddenDuringInterval = !visible;
    }, session.heartbeat_seconds * 1000);
  }

  dialog.querySelector("[data-attention-form]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = dialog.querySelector("input[name=answer]");
    const response = await post(`/sessions/${session.session}/attention`, {
      answer: input.value,
    });
    if (response.ok) {
      waitingForAnswer = false;
      input.value = "";
      dialog.close();
      showNotice("");
    } else {
      const data = await response.json().catch(() => ({}));
      if (response.status === 409) {
        dialog.close();
        stop(data.message);
      } else {
        dialog.querySelector("[data-attention-error]").classList.remove("hidden");
      }
    }
  });
}
