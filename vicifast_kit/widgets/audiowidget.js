// The page side of the kit's audio widgets (Listen, Phone): plays a call's audio and, for the Phone,
// sends the microphone and the keypad to the kernel. Audio travels over the widget's own comm as
// binary buffers of 20 ms (signed 16-bit little-endian mono at model "rate"), so it works wherever
// the notebook works. Nothing is loaded from the network.

const FRAME_MS = 20;
const LEAD = 0.10;              // seconds of audio kept scheduled ahead at first (a small jitter buffer) ...
const MAX_LEAD = 0.3;           // ... grown by a frame at each underrun, up to this
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

// Turns microphone audio (any rate) into 20 ms Int16 frames at `rate`.
const CAPTURE_WORKLET = `
class VicifastCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input[0]) this.port.postMessage(input[0].slice(0));
    return true;
  }
}
registerProcessor("vicifast-capture", VicifastCapture);
`;

class Framer {
  constructor(inRate, outRate, send) {
    this.step = inRate / outRate; this.pos = 0; this.prev = 0; this.send = send;
    this.size = Math.round(outRate * FRAME_MS / 1000);
    this.out = new Int16Array(this.size); this.n = 0;
    this.lp = 0; this.alpha = Math.min(1, outRate / inRate);   // a one-pole low-pass before decimating
    this.dcIn = 0; this.dcOut = 0;                               // and a DC blocker (a microphone's offset)
  }
  push(input) {
    const filtered = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      this.dcOut = input[i] - this.dcIn + 0.995 * this.dcOut;
      this.dcIn = input[i];
      this.lp += this.alpha * (this.dcOut - this.lp);
      filtered[i] = this.lp;
    }
    while (this.pos < input.length) {
      const i = Math.floor(this.pos), frac = this.pos - i;
      const a = i - 1 >= 0 ? filtered[i - 1] : this.prev, b = filtered[i];
      const v = a + (b - a) * frac;
      this.out[this.n++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
      if (this.n === this.size) { this.send(this.out); this.out = new Int16Array(this.size); this.n = 0; }
      this.pos += this.step;
    }
    this.pos -= input.length;
    this.prev = filtered[input.length - 1];
  }
}

function render({ model, el: root }) {
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
  const ear = new Onsets(), mouth = new Onsets();
  const gaps = [];                // ms between frames arriving from the kernel (the last 3000)
  let clockUnderruns = 0;
  let skipped = 0;                // frames dropped to keep the playout delay short after a burst         // underruns while frames arrived in time (the audio output's clock jumped)
  let micStream = null, micNode = null, micSource = null, sentFrames = 0;

  function ensureContext() {
    if (ctx) return ctx;
    ctx = new AudioContext();
    gain = ctx.createGain();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    gain.connect(analyser);
    analyser.connect(ctx.destination);
    applyVolume();
    return ctx;
  }
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

  function play(buffer) {
    const rate = model.get("rate");
    const pcm = new Int16Array(buffer.buffer ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer);
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const now = performance.now();
    ear.feed(dbOf(samples), now);
    if (lastFrame) { gaps.push(now - lastFrame); if (gaps.length > 3000) gaps.shift(); }
    frames++; lastFrame = now;
    const c = ensureContext();
    if (c.state !== "running") { c.resume().catch(() => {}); showStart(); }
    const audioBuffer = c.createBuffer(1, samples.length, rate);
    audioBuffer.copyToChannel(samples, 0);
    const source = c.createBufferSource();
    source.buffer = audioBuffer;
    source.connect(gain);
    if (next - c.currentTime > lead + 0.08) {   // frames came in a burst: drop one to catch up
      skipped++;
      return;
    }
    if (next < c.currentTime + 0.005) {
      if (frames > 1) {                 // the audio ran dry: count it, and keep more in hand from now on
        underruns++;
        // frames came in time, yet the audio clock ran past them: the output device's clock jumped
        if (gaps.length && gaps[gaps.length - 1] < lead * 1000) clockUnderruns++;
        lead = Math.min(MAX_LEAD, lead + FRAME_MS / 1000);
      }
      next = c.currentTime + lead;
    }
    source.start(next);
    next += samples.length / rate;
  }

  const toPage = [];              // ms from the kernel's send to the page (same machine, same wall clock)
  model.on("msg:custom", (msg, buffers) => {
    if (msg && msg.t === "a" && buffers && buffers.length) {
      if (msg.at) { toPage.push(Date.now() - msg.at); if (toPage.length > 3000) toPage.shift(); }
      play(buffers[0]);
    }
  });

  // --- the Phone: number, Call/Hang up, keypad, microphone --------------------------------------
  if (kind === "phone") {
    const dial = el("div", "vk-phone-dial");
    const number = el("input", "vk-phone-number");
    number.value = model.get("number"); number.placeholder = "number"; number.title = "Number to call";
    const callerId = el("input", "vk-phone-callerid");
    callerId.value = model.get("caller_id"); callerId.title = "Your caller id";
    const call = el("button", "vk-phone-call", "Call");
    const hang = el("button", "vk-phone-hangup", "Hang up");
    dial.append(number, call, hang);
    const pad = el("div", "vk-phone-keypad");
    for (const key of "123456789*0#") {
      const b = el("button", "vk-phone-key", key);
      b.onclick = () => model.send({ t: "dtmf", digit: key });
      pad.appendChild(b);
    }
    box.insertBefore(dial, meter);
    box.append(pad, el("div", "vk-phone-callerid-row"));
    box.lastChild.append(el("span", "", "Caller id: "), callerId);
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
      const url = URL.createObjectURL(new Blob([CAPTURE_WORKLET], { type: "text/javascript" }));
      await c.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      micSource = c.createMediaStreamSource(micStream);
      micNode = new AudioWorkletNode(c, "vicifast-capture");
      const framer = new Framer(c.sampleRate, model.get("rate"), (frame) => {
        const f = new Float32Array(frame.length);
        for (let i = 0; i < frame.length; i++) f[i] = frame[i] / 32768;
        mouth.feed(dbOf(f), performance.now());
        if (model.get("state") === "live" && !model.get("mic_muted")) {
          model.send({ t: "mic", at: Date.now() }, undefined, [frame.buffer]);
          sentFrames++;
        }
      });
      micNode.port.onmessage = (e) => framer.push(e.data);
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
  function latency() {
    // pair each sound we sent with the first one heard after it (within 1 s)
    const gaps = [];
    for (const t of mouth.times) {
      const back = ear.times.find((e) => e >= t && e - t < 1000);
      if (back !== undefined) gaps.push(back - t);
    }
    return median(gaps);
  }
  function refresh() {
    const state = model.get("state");
    title.textContent = model.get("title");
    badge.textContent = state;
    badge.dataset.state = state;
    status.textContent = model.get("status");
    let problem = model.get("error") || model.get("page_error") || "";
    const now = performance.now();
    if (!problem && state === "live" && lastFrame && now - lastFrame > 3000) {
      problem = `No audio from the kernel for ${Math.round((now - lastFrame) / 1000)} s: is the kernel busy, or gone?`;
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
    const lat = latency();
    box.dataset.frames = String(frames);
    box.dataset.toKernelP50Ms = model.get("to_kernel_ms_p50") >= 0 ? model.get("to_kernel_ms_p50").toFixed(0) : "";
    if (toPage.length) {
      const t = [...toPage].sort((a, b) => a - b);
      box.dataset.toPageP50Ms = t[Math.floor(t.length / 2)].toFixed(0);
      box.dataset.toPageP99Ms = t[Math.floor(t.length * 0.99)].toFixed(0);
    }
    if (gaps.length) {
      const g = [...gaps].sort((a, b) => a - b);
      box.dataset.gapP99Ms = g[Math.floor(g.length * 0.99)].toFixed(0);
      box.dataset.gapMaxMs = g[g.length - 1].toFixed(0);
    }
    box.dataset.underruns = String(underruns);
    box.dataset.clockUnderruns = String(clockUnderruns);
    box.dataset.skipped = String(skipped);
    box.dataset.sent = String(sentFrames);
    box.dataset.latencyMs = lat === null ? "" : lat.toFixed(0);
    box.dataset.leadMs = ctx ? Math.max(0, (next - ctx.currentTime) * 1000).toFixed(0) : "";
    figures.textContent = `${box.dataset.levelDb || "–"} dB` + (lat === null ? "" : ` · mouth to ear ${box.dataset.latencyMs} ms`);
  }
  const timer = setInterval(refresh, 250);
  const stats = setInterval(() => {
    model.send({ t: "stats", frames, underruns, sent: sentFrames, level_db: Number(box.dataset.levelDb || -120),
                 peak_hz: Number(box.dataset.peakHz || 0), latency_ms: latency(), hidden: document.hidden });
  }, 2000);
  model.on("change:muted", applyVolume);
  model.on("change:volume", applyVolume);
  ["change:state", "change:status", "change:error", "change:title", "change:page_error"].forEach((e) => model.on(e, refresh));
  refresh();
  return () => {
    clearInterval(timer); clearInterval(stats);
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    if (ctx) ctx.close();
  };
}

export default { render };
