// The page side of the kit's audio widgets (Listen, Phone): plays a call's audio and, for the Phone,
// sends the microphone and the keypad to the kernel. Audio travels over the widget's own comm as
// binary buffers of 20 ms (signed 16-bit little-endian mono at model "rate"), so it works wherever
// the notebook works. Nothing is loaded from the network.

const FRAME_MS = 20;
const LEAD = 0.06;              // seconds of audio scheduled ahead when the sound (re)starts (the jitter buffer) ...
const MAX_LEAD = 0.3;           // ... grown at each underrun by what it lacked (a frame at least), up to this ...
const MIN_LEAD = 0.03;
const SPARE_FRAMES = 400;       // 8 s: the buffer shrinks (a frame dropped) when over this many frames it never ran
const SAFETY = 0.015;           // ... lower than SAFETY (the audio clock's own steps) plus MARGIN plus the frame
const MARGIN = 0.01;
// Microphone frames per message to the kernel. Each message makes the kernel report busy, then idle;
// a stock JupyterLab redraws its busy indicators for each, and two frames a message saved a third of
// a core there, for 20 ms more delay. The kit's Jupyter Server extension (vicifast_kit.notebook_server)
// makes the page ignore those reports (comm_msg among the page config's untracked_message_types):
// with it, one frame a message measured 129 ms mouth to ear against 161 ms, with fewer gaps and no
// more CPU (bench/phone_bench.py, 2026-12-06).
function micBatch() {
  try {
    const config = JSON.parse(document.getElementById("jupyter-config-data").textContent);
    return (config.untracked_message_types || []).includes("comm_msg") ? 1 : 2;
  } catch (e) {
    return 2;                     // not JupyterLab's page, or no page config: assume a stock server
  }
}
const MIC_BATCH = micBatch();
const LOUD_DB = -35;            // a frame louder than this starts a sound (for the latency figures)
const QUIET_DB = -45;           // ... after at least 100 ms below this

function dbOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  return rms > 0 ? 20 * Math.log10(rms) : -120;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Finds the start of each sound in a stream of frames (level crossing up after quiet).
class Onsets {
  constructor() { this.quietFor = 0; this.times = []; }
  feed(db, now) {
    if (db > LOUD_DB && this.quietFor >= 100) this.times.push(now);
    this.quietFor = db < QUIET_DB ? this.quietFor + FRAME_MS : 0;
    if (this.times.length > 200) this.times.shift();
  }
}

// The microphone's audio thread turns what it captures (any rate) into 20 ms Int16 frames at the
// call's rate and posts each whole frame with the AudioContext time of its first sample: one message
// every 20 ms to the page's busy main thread (not one per 128-sample render quantum, 375 a second).
const CAPTURE_WORKLET = `
class VicifastCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const outRate = options.processorOptions.rate;
    this.step = sampleRate / outRate; this.pos = 0; this.prev = 0;
    this.size = Math.round(outRate * ${FRAME_MS} / 1000);
    this.out = new Int16Array(this.size); this.n = 0; this.first = 0;
    this.lp = 0; this.alpha = Math.min(1, outRate / sampleRate);   // a one-pole low-pass before decimating
    this.dcIn = 0; this.dcOut = 0;                                 // and a DC blocker (a microphone's offset)
    this.filtered = new Float32Array(128);
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    if (this.filtered.length !== input.length) this.filtered = new Float32Array(input.length);
    const filtered = this.filtered;
    for (let i = 0; i < input.length; i++) {
      this.dcOut = input[i] - this.dcIn + 0.995 * this.dcOut;
      this.dcIn = input[i];
      this.lp += this.alpha * (this.dcOut - this.lp);
      filtered[i] = this.lp;
    }
    while (this.pos < input.length) {
      const i = Math.floor(this.pos), frac = this.pos - i;
      const a = i - 1 >= 0 ? filtered[i - 1] : this.prev, b = filtered[i];
      if (this.n === 0) this.first = (currentFrame + this.pos) / sampleRate;
      this.out[this.n++] = Math.max(-32768, Math.min(32767, Math.round((a + (b - a) * frac) * 32767)));
      if (this.n === this.size) {
        const now = currentTime + input.length / sampleRate;          // this quantum's end
        this.port.postMessage({ pcm: this.out, first: this.first, now }, [this.out.buffer]);
        this.out = new Int16Array(this.size); this.n = 0;
      }
      this.pos += this.step;
    }
    this.pos -= input.length;
    this.prev = filtered[input.length - 1];
    return true;
  }
}
registerProcessor("vicifast-capture", VicifastCapture);
`;

// Percentiles of the last values of a figure (a bounded window).
class Figure {
  constructor(size = 3000) { this.size = size; this.values = []; }
  add(v) { this.values.push(v); if (this.values.length > this.size) this.values.shift(); }
  get count() { return this.values.length; }
  pct(p) {
    if (!this.values.length) return null;
    const s = [...this.values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(s.length * p))];
  }
  get max() { return this.values.length ? Math.max(...this.values) : null; }
}

// The least of a value over the last `size` entries (how far ahead of need a clock has been).
class WindowMin {
  constructor(size) { this.size = size; this.values = []; }
  add(v) { this.values.push(v); if (this.values.length > this.size) this.values.shift(); }
  get full() { return this.values.length >= this.size; }
  get min() { return Math.min(...this.values); }
  clear() { this.values = []; }
  shift(by) { this.values = this.values.map((v) => v - by); }
}

// One AudioContext for every audio widget of the page: each context costs an audio thread in the page
// and an output stream in the browser's audio service, on a machine with little CPU to spare.
let shared = null, users = 0, captureModule = null;
function useContext() {
  if (!shared || shared.state === "closed") {
    shared = new AudioContext({ latencyHint: "interactive" });
    captureModule = null;
  }
  users++;
  return shared;
}
function releaseContext() {
  users = Math.max(0, users - 1);
  if (users === 0 && shared) { shared.close(); shared = null; captureModule = null; }
}
function loadCapture(c) {
  if (!captureModule) {
    const url = URL.createObjectURL(new Blob([CAPTURE_WORKLET], { type: "text/javascript" }));
    captureModule = c.audioWorklet.addModule(url).finally(() => URL.revokeObjectURL(url));
  }
  return captureModule;
}

function render({ model, el: root }) {
  installFocusReturn();                 // (focus.js, put before this module by audiowidget.py)
  const kind = model.get("kind");
  const box = el("div", `vk-audio vk-${kind}`);
  root.appendChild(box);
  const head = el("div", "vk-audio-head");
  const title = el("span", "vk-audio-title");
  const badge = el("span", "vk-audio-state");
  head.append(title, badge);
  const meter = el("div", "vk-audio-meter");
  const bar = el("div", "vk-audio-bar");
  meter.appendChild(bar);
  const figures = el("span", "vk-audio-figures");
  const status = el("div", "vk-audio-status");
  const error = el("div", "vk-audio-error");
  const controls = el("div", "vk-audio-controls");
  const start = el("button", "vk-audio-start", "▶ Start audio");
  const mute = el("button", "vk-audio-mute", "Mute");
  const volume = el("input", "vk-audio-volume");
  volume.type = "range"; volume.min = "0"; volume.max = "2"; volume.step = "0.05";
  volume.value = String(model.get("volume")); volume.title = "Volume";
  controls.append(start, mute, volume, figures);
  box.append(head, meter, controls, status, error);

  let ctx = null, gain = null, analyser = null, next = 0, frames = 0, underruns = 0, lastFrame = 0, lead = LEAD;
  // Onsets for the figures, on the AudioContext's clock: the microphone's (when its frame was captured)
  // and the speaker's (when the echo's frame is heard: scheduled time plus the output's latency). And
  // on the page's clock: a frame sent to the kernel, a frame back from it (the old "page to page" figure).
  const ear = new Onsets(), mouth = new Onsets(), earNet = new Onsets(), mouthNet = new Onsets();
  const gaps = new Figure();      // ms between frames arriving from the kernel
  const toPage = new Figure();    // ms from the kernel's send to the page (same machine, same wall clock)
  const buffered = new Figure();  // ms of audio scheduled ahead when a frame arrives (the playout buffer)
  const hop = new Figure();       // ms from the audio thread's frame to the page's main thread (over its quickest)
  const spare = new WindowMin(SPARE_FRAMES);
  let clockUnderruns = 0;         // underruns while frames arrived in time (the audio output's clock jumped)
  let skipped = 0;                // frames dropped to keep the playout delay short
  let micStream = null, micNode = null, micSource = null, sentFrames = 0;

  function ensureContext() {
    if (ctx) return ctx;
    ctx = useContext();
    gain = ctx.createGain();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    gain.connect(analyser);
    analyser.connect(ctx.destination);
    applyVolume();
    return ctx;
  }
  function outputLatency() { return ctx ? (ctx.outputLatency || ctx.baseLatency || 0) : 0; }
  function applyVolume() {
    if (gain) gain.gain.value = model.get("muted") ? 0 : Number(model.get("volume"));
    mute.textContent = model.get("muted") ? "Unmute" : "Mute";
  }
  function showStart() {
    start.style.display = ctx && ctx.state === "running" ? "none" : "";
  }
  start.onclick = () => { ensureContext().resume().then(showStart); };
  mute.onclick = () => { model.set("muted", !model.get("muted")); model.save_changes(); };
  volume.oninput = () => { model.set("volume", Number(volume.value)); model.save_changes(); };

  // The playout buffer: frames are scheduled back to back on the AudioContext's clock. When one comes
  // too late to follow the last, that is an underrun: the sound restarts `lead` ahead and `lead` grows
  // by a frame. When the buffer has held more than it needed for SPARE_FRAMES (its least level over them
  // stayed above a frame plus SAFETY), a frame is dropped, a quiet one if it can: the delay follows the
  // jitter that is measured, down as well as up.
  function play(buffer) {
    const rate = model.get("rate");
    const pcm = new Int16Array(buffer.buffer ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer);
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const now = performance.now();
    const db = dbOf(samples);
    earNet.feed(db, now);
    if (lastFrame && !idle) gaps.add(now - lastFrame);
    frames++; lastFrame = now;
    const c = ensureContext();
    if (c.state !== "running") { c.resume().catch(() => {}); showStart(); }
    const level = next - c.currentTime;
    if (level < 0.003) {
      if (frames > 1 && !idle) {        // the audio ran dry: count it, and keep more in hand from now on
        underruns++;
        // frames came in time, yet the audio clock ran past them: the output device's clock jumped
        if (gaps.count && gaps.values[gaps.values.length - 1] < lead * 1000) clockUnderruns++;
        // as much more as it lacked this time (a frame at least)
        lead = Math.min(MAX_LEAD, lead + Math.max(FRAME_MS / 1000, -level));
      }
      next = c.currentTime + lead;
      spare.clear();
      idle = false;
    } else {
      spare.add(level);
      const extra = spare.full ? spare.min - SAFETY - MARGIN : 0;   // never needed over the last SPARE_FRAMES
      const frame = samples.length / rate;
      // a frame to spare: drop this one if it is quiet (any, with two to spare); far more than `lead`
      // right after a burst: drop it
      if ((extra >= frame && (db < QUIET_DB || extra >= 2 * frame)) || level > lead + 0.1) {
        skipped++;
        spare.shift(frame);
        if (extra >= frame) lead = Math.max(MIN_LEAD, lead - frame / 2);
        return;
      }
    }
    buffered.add((next - c.currentTime) * 1000);
    ear.feed(db, (next + outputLatency()) * 1000);
    const audioBuffer = c.createBuffer(1, samples.length, rate);
    audioBuffer.copyToChannel(samples, 0);
    const source = c.createBufferSource();
    source.buffer = audioBuffer;
    source.connect(gain);
    source.start(next);
    next += samples.length / rate;
  }

  let lastIdle = 0, idle = false;   // the kernel says the call has sent nothing for a second (not late: silent)
  model.on("msg:custom", (msg, buffers) => {
    if (msg && msg.t === "a" && buffers && buffers.length) {
      if (msg.at) toPage.add(Date.now() - msg.at);
      play(buffers[0]);
    } else if (msg && msg.t === "idle") {
      lastIdle = performance.now(); idle = true;
    }
  });

  // --- the Phone: number, Call/Hang up, keypad, microphone --------------------------------------
  if (kind === "phone") {
    const dial = el("div", "vk-phone-dial");
    const number = el("input", "vk-phone-number");
    number.value = model.get("number"); number.placeholder = "number"; number.title = "Number to call";
    const callerId = el("input", "vk-phone-callerid");
    callerId.value = model.get("caller_id"); callerId.title = "Your caller id";
    const joins = model.get("joins");      // a phone that joins a bridge has no number to dial
    const call = el("button", "vk-phone-call", joins ? "Join" : "Call");
    const hang = el("button", "vk-phone-hangup", joins ? "Leave" : "Hang up");
    if (joins) {
      const what = el("span", "vk-phone-joins", "You join as one more person in it:");
      what.title = `This phone joins ${joins}`;
      dial.append(what, call, hang);
    } else {
      dial.append(number, call, hang);
    }
    const pad = el("div", "vk-phone-keypad");
    for (const key of "123456789*0#") {
      const b = el("button", "vk-phone-key", key);
      b.onclick = () => model.send({ t: "dtmf", digit: key });
      pad.appendChild(b);
    }
    box.insertBefore(dial, meter);
    if (!joins) {                             // (in a bridge there is no call to send keys or a caller id to)
      box.append(pad, el("div", "vk-phone-callerid-row"));
      box.lastChild.append(el("span", "", "Caller id: "), callerId);
    }
    number.onchange = () => { model.set("number", number.value); model.save_changes(); };
    callerId.onchange = () => { model.set("caller_id", callerId.value); model.save_changes(); };

    async function startMic() {
      if (micStream) return;
      const c = ensureContext();
      try {
        micStream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false } });
      } catch (e) {
        model.set("page_error", `No microphone: ${e.name} (allow the microphone for this page, or just listen and use the keypad).`);
        model.save_changes();
        return;
      }
      await loadCapture(c);
      micSource = c.createMediaStreamSource(micStream);
      micNode = new AudioWorkletNode(c, "vicifast-capture", { processorOptions: { rate: model.get("rate") } });
      let pending = [];                     // frames not sent yet (MIC_BATCH to a message)
      const offsets = new WindowMin(250);   // page clock minus audio clock, at the quickest hop of the last 5 s
      micNode.port.onmessage = (e) => {
        const { pcm, first, now } = e.data;
        const arrived = performance.now();
        offsets.add(arrived - now * 1000);
        hop.add(arrived - now * 1000 - offsets.min);
        const f = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
        const db = dbOf(f);
        if (model.get("state") === "live" && !model.get("mic_muted")) {
          mouth.feed(db, first * 1000);        // when its first sample was captured (the AudioContext's clock)
          mouthNet.feed(db, arrived);
          pending.push(pcm.buffer);
          sentFrames++;
          if (pending.length >= MIC_BATCH) {
            model.send({ t: "mic", at: Date.now() }, undefined, pending);
            pending = [];
          }
        }
      };
      micSource.connect(micNode);
    }
    function stopMic() {
      if (micSource) micSource.disconnect();
      if (micNode) micNode.disconnect();
      if (micStream) micStream.getTracks().forEach((t) => t.stop());
      micStream = micNode = micSource = null;
    }
    call.onclick = async () => {
      model.set("number", number.value); model.set("caller_id", callerId.value); model.save_changes();
      await ensureContext().resume();
      showStart();
      await startMic();                  // the microphone is asked for only now
      model.send({ t: "call", number: number.value });
    };
    hang.onclick = () => model.send({ t: "hangup" });
    const buttons = () => {
      const s = model.get("state");
      call.disabled = s === "ringing" || s === "live";
      hang.disabled = !(s === "ringing" || s === "live");
      pad.querySelectorAll("button").forEach((b) => { b.disabled = s !== "live"; });
      if (s === "ended" || s === "idle") stopMic();
    };
    model.on("change:state", buttons);
    buttons();
    model.on("change:number", () => { number.value = model.get("number"); });
  }

  // --- status, figures, honest limits ------------------------------------------------------------
  function median(xs) { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : null; }
  function pairs(from, to) {
    // pair each sound we sent with the first one heard after it (within 1 s)
    const gaps = [];
    for (const t of from.times) {
      const back = to.times.find((e) => e >= t && e - t < 1000);
      if (back !== undefined) gaps.push(back - t);
    }
    return median(gaps);
  }
  function inputLatency() {
    // the browser's own figure for microphone -> audio graph (MediaStreamTrack stats, where it has them)
    const track = micStream && micStream.getAudioTracks()[0];
    const stats = track && track.stats;
    return stats && typeof stats.latency === "number" ? stats.latency : null;
  }
  // mouth to ear as heard: captured (plus the browser's input figure) -> played (scheduled + output latency)
  function latency() {
    const m = pairs(mouth, ear);
    return m === null ? null : m + (inputLatency() || 0);
  }
  const r = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
  const two = (f) => (f && f.count ? [r(f.pct(0.5)), r(f.pct(0.99))] : [null, null]);
  // Where the time goes, stage by stage (ms, [p50, p99]); the kernel's stages come in model "timings".
  function breakdown() {
    const k = model.get("timings") || {};
    const input = inputLatency();
    const rows = [
      ["microphone -> capture worklet (the browser's figure)", [r(input), null]],
      // (the mean, and the most: the first of MIC_BATCH frames waits for the others)
      ["framing: a frame waits for its last sample" + (MIC_BATCH > 1 ? `, the first of ${MIC_BATCH} for the others` : ""),
       [FRAME_MS * (MIC_BATCH + 1) / 2, FRAME_MS * MIC_BATCH]],
      ["capture worklet -> page's main thread (over its quickest)", two(hop)],
      ["page -> kernel (widget comm)", k.to_kernel || [null, null]],
      ["kernel -> lab -> kernel: the echo of a sound (onsets, this call)", k.lab || [null, null]],
      ["  of which: Asterisk's queue of what the page said (the kernel's estimate)", k.queue || [null, null]],
      ["kernel -> page (widget comm)", two(toPage)],
      ["playout buffer", two(buffered)],
      ["audio output (the browser's figure)", [r(outputLatency() * 1000), null]],
    ];
    const sum = rows.filter((row) => !row[0].startsWith(" ")).reduce((t, row) => t + (row[1][0] || 0), 0);
    return { rows, sum_p50: r(sum), mouth_to_ear: r(latency()), page_to_page: r(pairs(mouthNet, earNet)),
             kernel: k, gaps: [r(gaps.pct(0.5)), r(gaps.pct(0.99)), r(gaps.max)] };
  }
  let ticks = 0;
  function refresh() {
    const state = model.get("state");
    title.textContent = model.get("title");
    title.title = model.get("title");
    badge.textContent = state;
    badge.dataset.state = state;
    status.textContent = model.get("status");
    let problem = model.get("error") || model.get("page_error") || "";
    const now = performance.now();
    const heard = Math.max(lastFrame, lastIdle);
    if (!problem && state === "live" && heard && now - heard > 3000) {
      problem = `No audio from the kernel for ${Math.round((now - heard) / 1000)} s: is the kernel busy, or gone?`;
    }
    if (!problem && state === "live" && document.hidden) problem = "This page is in a background tab: the browser may slow its audio.";
    error.textContent = problem;
    error.style.display = problem ? "" : "none";
    showStart();
    if (analyser) {
      const time = new Float32Array(analyser.fftSize);
      analyser.getFloatTimeDomainData(time);
      const db = dbOf(time);
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(spectrum);
      let best = 0;
      for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[best]) best = i;
      const hz = best * ctx.sampleRate / analyser.fftSize;
      bar.style.width = `${Math.max(0, Math.min(100, (db + 60) * 100 / 60))}%`;
      box.dataset.levelDb = db.toFixed(1);
      box.dataset.peakHz = db > -60 ? hz.toFixed(0) : "0";
    }
    box.dataset.frames = String(frames);
    box.dataset.underruns = String(underruns);
    box.dataset.clockUnderruns = String(clockUnderruns);
    box.dataset.skipped = String(skipped);
    box.dataset.sent = String(sentFrames);
    box.dataset.leadMs = ctx ? Math.max(0, (next - ctx.currentTime) * 1000).toFixed(0) : "";
    if (ticks++ % 4 === 0 || !box.dataset.latencyMs) {     // the percentiles: once a second
      const lat = latency();
      box.dataset.latencyMs = lat === null ? "" : lat.toFixed(0);
      box.dataset.toKernelP50Ms = model.get("to_kernel_ms_p50") >= 0 ? model.get("to_kernel_ms_p50").toFixed(0) : "";
      if (toPage.count) {
        box.dataset.toPageP50Ms = toPage.pct(0.5).toFixed(0);
        box.dataset.toPageP99Ms = toPage.pct(0.99).toFixed(0);
      }
      if (gaps.count) {
        box.dataset.gapP99Ms = gaps.pct(0.99).toFixed(0);
        box.dataset.gapMaxMs = gaps.max.toFixed(0);
      }
      box.dataset.breakdown = JSON.stringify(breakdown());
      figures.textContent = `${box.dataset.levelDb || "–"} dB` + (lat === null ? "" : ` · mouth to ear ${box.dataset.latencyMs} ms`);
    }
  }
  const timer = setInterval(refresh, 250);
  const stats = setInterval(() => {
    model.send({ t: "stats", frames, underruns, skipped, sent: sentFrames, level_db: Number(box.dataset.levelDb || -120),
                 peak_hz: Number(box.dataset.peakHz || 0), latency_ms: latency(), hidden: document.hidden,
                 breakdown: box.dataset.breakdown ? JSON.parse(box.dataset.breakdown) : null });
  }, 2000);
  model.on("change:muted", applyVolume);
  model.on("change:volume", applyVolume);
  ["change:state", "change:status", "change:error", "change:title", "change:page_error"].forEach((e) => model.on(e, refresh));
  refresh();
  return () => {
    clearInterval(timer); clearInterval(stats);
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    if (micSource) micSource.disconnect();
    if (micNode) micNode.disconnect();
    if (gain) gain.disconnect();
    if (analyser) analyser.disconnect();
    if (ctx) releaseContext();
  };
}

export default { render };
