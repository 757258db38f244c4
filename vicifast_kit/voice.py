"""A voice bot's parts, all offline: a voice (text to speech with espeak-ng), an ear (pocketsphinx with a
small grammar), turn-taking (Asterisk's TALK_DETECT events and the audio's own level) and a router.

Each part is a plain function, so you can swap one for your own service: ``speak(text, rate) -> slin``
and ``recognise(pcm, rate, intents) -> Recognised`` are all `route()` needs. What a production system
adds is said in notebook 09: streaming recognition, a natural voice, endpointing tuned on real calls.
"""

from __future__ import annotations

import functools
import html
import queue
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import audio as _audio

if TYPE_CHECKING:  # pragma: no cover
    from .handles import Channel
    from .media.stream import MediaStream

#: What callers may ask for: intent -> the words that mean it.
INTENTS: dict[str, list[str]] = {
    "sales": ["sales"],
    "billing": ["billing", "bill"],
    "agent": ["agent", "person", "human", "operator"],
}

# What callers say around the word that matters ("I'd like to talk to ... please").
_LEAD = ("[hello] [(i'd | i would) like to | i want to | can i | could i | let me] [(talk | speak) to] "
         "[a | an | the] | i have a question about [my] | [a | an]")
_TAIL = "[department] [please]"


# --- the voice ------------------------------------------------------------------------------------------

def speak(text: str, rate: int = 16000, speed: int = 160) -> bytes:
    """Text to speech made offline with espeak-ng: slin at `rate` (words a minute: `speed`)."""
    return _speak(str(text), int(rate), int(speed))


@functools.lru_cache(maxsize=64)
def _speak(text: str, rate: int, speed: int) -> bytes:
    program = shutil.which("espeak-ng")
    if program is None:
        raise RuntimeError("espeak-ng is not installed here: `apt-get install espeak-ng` (scripts/setup does it), "
                           "or pass your own voice, a function speak(text, rate) -> slin bytes")
    done = subprocess.run([program, "-v", "en-us", "-s", str(speed), "--stdout"], input=text.encode("utf-8"),
                          capture_output=True, timeout=30, check=False)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"espeak-ng could not speak {text[:40]!r}: {done.stderr.decode(errors='replace').strip()}")
    pcm, wav_rate = _audio.read_wav(done.stdout)
    return _audio.resample(pcm, wav_rate, rate)


# --- the ear --------------------------------------------------------------------------------------------

@dataclass
class Recognised:
    """What the recogniser made of an utterance: its words and the intent they name (None: not understood)."""

    text: str
    intent: str | None
    seconds: float = 0.0     # how long recognising took

    def __repr__(self) -> str:
        return f"<Recognised {self.text!r} -> {self.intent}>"


def grammar(intents: dict[str, list[str]] | None = None) -> str:
    """The JSGF grammar of what callers may say: [a lead-in] one of the intents' words [department] [please]."""
    intents = INTENTS if intents is None else intents
    words = [w.lower() for ws in intents.values() for w in ws]
    for word in words:
        if not re.fullmatch(r"[a-z][a-z' ]*", word):
            raise ValueError(f"intent word {word!r}: use lower-case English words (letters, apostrophes, spaces)")
    return (f"#JSGF V1.0;\ngrammar callers;\npublic <utterance> = [<lead>] <key> [<tail>];\n"
            f"<lead> = {_LEAD};\n<key> = {' | '.join(words)};\n<tail> = {_TAIL};\n")


_decoders: dict[str, object] = {}
_decoder_lock = threading.Lock()


def _decoder(jsgf: str):
    """A pocketsphinx decoder for this grammar (made once: about 0.2 s)."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise RuntimeError("pocketsphinx is not installed: `.venv/bin/pip install -r requirements.txt`, "
                           "or pass your own recogniser, a function recognise(pcm, rate, intents)") from None
    decoder = _decoders.get(jsgf)
    if decoder is None:
        decoder = Decoder(samprate=16000, lm=None, loglevel="FATAL")
        decoder.add_jsgf_string("callers", jsgf)
        decoder.activate_search("callers")
        _decoders[jsgf] = decoder
    return decoder


def recognise(pcm: bytes, rate: int = 16000, intents: dict[str, list[str]] | None = None) -> Recognised:
    """Offline speech recognition (pocketsphinx's English model) of one utterance against a small grammar."""
    intents = INTENTS if intents is None else intents
    started = time.monotonic()
    x = _telephone_band(pcm, rate)
    quiet = _audio.silence(0.3, 16000)
    with _decoder_lock:
        decoder = _decoder(grammar(intents))
        decoder.start_utt()
        decoder.process_raw(quiet + x + quiet, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    text = hyp.hypstr if hyp is not None else ""
    return Recognised(text, intent_of(text, intents), time.monotonic() - started)


def _telephone_band(pcm: bytes, rate: int) -> bytes:
    """The audio as a phone line carries it (up to 4 kHz), at 16 kHz with a faint hiss above 4 kHz.

    The English model was trained on wideband speech, whose spectrum above 4 kHz is never empty; a
    call's is (or holds only resampling noise). Measured on 24 live turns of the lab's callers: 11
    routed right as is, 15-16 with this hiss (at 50 to 400 alike), 8 without the band limit.
    """
    x = np.frombuffer(_audio.resample(_audio.resample(pcm, rate, 8000), 8000, 16000), "<i2").astype(np.float64)
    white = np.random.default_rng(0).normal(0.0, 1.0, x.size)     # the same hiss every time: repeatable results
    hiss = np.diff(np.diff(white, prepend=0.0), prepend=0.0)      # a second difference: mostly high frequencies
    return np.clip(np.rint(x + 100.0 * hiss), -32768, 32767).astype("<i2").tobytes()


def intent_of(text: str, intents: dict[str, list[str]] | None = None) -> str | None:
    """The first intent whose word appears in `text` (None if none does)."""
    intents = INTENTS if intents is None else intents
    spoken = " " + " ".join(re.findall(r"[a-z']+", text.lower())) + " "
    found = [(spoken.find(f" {w.lower()} "), name) for name, ws in intents.items() for w in ws
             if f" {w.lower()} " in spoken]
    return min(found)[1] if found else None


# --- turn-taking ----------------------------------------------------------------------------------------

def talk_detect(call: "Channel", silence_ms: int = 800) -> None:
    """Ask Asterisk to report the caller's talking (ChannelTalkingStarted/Finished) after `silence_ms` of quiet."""
    call.set_channel_var(variable="TALK_DETECT(set)", value=str(int(silence_ms)))


def stop_talk_detect(call: "Channel") -> None:
    """Stop Asterisk's talk detection on the call (a call that has ended is fine)."""
    try:
        call.set_channel_var(variable="TALK_DETECT(remove)", value="")
    except Exception:
        pass


def speech_spans(pcm: bytes, rate: int = 16000, threshold_db: float = -35.0, window: float = 0.1,
                 hangover: float = 0.5) -> list[tuple[float, float]]:
    """Where someone talks, from the level alone: (start, end) in seconds, gaps shorter than `hangover` joined."""
    spans: list[list[float]] = []
    for i, value in enumerate(_audio.levels(pcm, rate, window)):
        if 20 * np.log10(max(value, 1.0) / 32768) > threshold_db:
            start, end = i * window, (i + 1) * window
            if spans and start - spans[-1][1] <= hangover:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    return [(round(a, 2), round(b, 2)) for a, b in spans]


@dataclass
class Turn:
    """One turn of the caller: what they said (or pressed), and what happened while the bot spoke."""

    speech: bytes                  # the caller's words: from talk start (less a little) to talk end
    heard: bytes                   # all the turn's audio from the caller's side
    rate: int
    digits: str = ""               # keys pressed during the turn
    barged_in: bool = False        # the caller talked over the prompt, which was cut (flush)
    timed_out: bool = False        # nobody said anything in time
    ended: bool = False            # the call ended during the turn
    talk: list[tuple[float, float]] = field(default_factory=list)   # Asterisk's talk spans (s into the turn)
    prompt_seconds: float = 0.0    # how long the prompt was
    cut_at: float | None = None    # when the prompt was cut (s into the turn)

    def __repr__(self) -> str:
        what = ("pressed " + repr(self.digits) if self.digits else
                f"said {len(self.speech) / 2 / self.rate:.1f} s" if self.speech else "said nothing")
        return f"<Turn {what}{', barged in' if self.barged_in else ''}{', timed out' if self.timed_out else ''}>"


_TURN_EVENTS = ["ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelDtmfReceived", "StasisEnd",
                "ChannelDestroyed"]


def take_turn(call: "Channel", stream: "MediaStream", prompt: bytes = b"", *, timeout: float = 8.0,
              max_speech: float = 6.0, preroll: float = 0.4, max_digits: int = 1) -> Turn:
    """Say `prompt`, then listen until the caller has spoken (Asterisk's talk detection) or pressed a key.

    Needs talk_detect(call) first. If the caller starts talking or presses a key while the prompt plays,
    the prompt is cut at once (stream.flush(): barge-in). Returns after ChannelTalkingFinished, after
    `max_speech` s of talking, after `max_digits` keys, or after `timeout` s (counted from the end of the
    prompt) with nothing said.
    """
    rate = stream.rate
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    subscription = call.on(_TURN_EVENTS, inbox.put)
    heard = bytearray()
    turn = Turn(b"", b"", rate, prompt_seconds=len(prompt) / 2 / rate)
    started_at: float | None = None
    finished_at: float | None = None
    try:
        # The caller may have started before we listened (e.g. while the media stream opened): then what
        # the stream holds is the start of their words; otherwise it is not part of this turn.
        talking = [e.type for e in call.events() if e.type in ("ChannelTalkingStarted", "ChannelTalkingFinished")]
        already = bool(talking) and talking[-1] == "ChannelTalkingStarted"
        backlog = stream.buffered
        if backlog > 0:
            earlier = stream.read(backlog, timeout=0)
            if already:
                heard += earlier
        began = time.monotonic() - len(heard) / 2 / rate      # times count from the start of `heard`
        if already:
            started_at = 0.0
        if prompt:
            stream.send(prompt)
        playing = bool(prompt)
        for frame in stream.frames(timeout=2.0):
            heard += frame
            now = time.monotonic() - began
            if playing and now > turn.prompt_seconds + 0.1:
                playing = False
            while True:
                try:
                    event = inbox.get_nowait()
                except queue.Empty:
                    break
                if event.type == "ChannelTalkingStarted" and started_at is None:
                    started_at = now
                elif event.type == "ChannelTalkingFinished" and started_at is not None:
                    finished_at = now
                    turn.talk.append((round(started_at, 2), round(now, 2)))
                elif event.type == "ChannelDtmfReceived":
                    turn.digits += event.digit
                elif event.type in ("StasisEnd", "ChannelDestroyed"):
                    turn.ended = True
            if playing and (started_at is not None or turn.digits):
                stream.flush()                # barge-in: stop talking the moment the caller does
                playing, turn.barged_in, turn.cut_at = False, True, round(now, 2)
            if turn.ended or finished_at is not None or len(turn.digits) >= max_digits:
                break
            if started_at is not None and now - started_at > max_speech:
                turn.talk.append((round(started_at, 2), round(now, 2)))
                finished_at = now
                break
            if started_at is None and now > turn.prompt_seconds + timeout:
                turn.timed_out = True
                break
        else:
            turn.ended = True
    finally:
        subscription.unsubscribe()
    turn.heard = bytes(heard)
    if started_at is not None and finished_at is not None:
        first = max(0, int((started_at - preroll) * rate)) * 2
        turn.speech = turn.heard[first:int(finished_at * rate) * 2]
    return turn


# --- the router -----------------------------------------------------------------------------------------

#: The keys callers may press instead of talking: key -> intent.
KEYS: dict[str, str] = {"1": "sales", "2": "billing", "0": "agent"}


@dataclass
class Routing:
    """How a call was routed: the intent, how it was found ("speech" or "keys"), and each turn's story."""

    intent: str | None
    by: str = ""
    turns: list[Turn] = field(default_factory=list)
    heard: list[Recognised] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"<Routing {self.intent} by {self.by or 'nothing'} after {len(self.turns)} turn(s)>"


GREETING = "Welcome to Vicifast. Say sales, billing, or agent. Or press 1 for sales, 2 for billing, 0 for an agent."
RETRY = "Sorry, I did not catch that. Please say sales, billing, or agent, or press a key."


def route(call: "Channel", stream: "MediaStream", *, speak: Callable[[str, int], bytes] = speak,
          recognise: Callable[..., Recognised] = recognise, intents: dict[str, list[str]] | None = None,
          keys: dict[str, str] | None = None, greeting: str = GREETING, retry: str = RETRY, tries: int = 2,
          timeout: float = 6.0) -> Routing:
    """Greet the caller, hear what they want (speech or a key), ask again if not understood; the intent found.

    Needs talk_detect(call) first. `speak` and `recognise` are plain functions: pass your own service's.
    """
    intents = INTENTS if intents is None else intents
    keys = KEYS if keys is None else keys
    result = Routing(None)
    prompt = greeting
    for attempt in range(tries):
        turn = take_turn(call, stream, speak(prompt, stream.rate), timeout=timeout)
        result.turns.append(turn)
        if turn.ended:
            result.log.append("the caller hung up")
            return result
        note = "barged in, " if turn.barged_in else ""
        if turn.digits:
            intent = keys.get(turn.digits[0])
            result.log.append(f"turn {attempt + 1}: {note}pressed {turn.digits!r} -> {intent}")
            if intent:
                result.intent, result.by = intent, "keys"
                return result
        elif turn.speech:
            heard = recognise(turn.speech, stream.rate, intents)
            result.heard.append(heard)
            result.log.append(f"turn {attempt + 1}: {note}heard {heard.text!r} -> {heard.intent}")
            if heard.intent:
                result.intent, result.by = heard.intent, "speech"
                return result
        else:
            result.log.append(f"turn {attempt + 1}: silence")
        prompt = retry
    return result


# --- a picture ------------------------------------------------------------------------------------------

class LevelPlot:
    """The level of audio over time as an SVG plot, with a lane for each kind of span (talk detected, prompt playing)."""

    def __init__(self, pcm: bytes, rate: int = 16000, spans: dict[str, list[tuple[float, float]]] | None = None,
                 *, title: str = "", window: float = 0.05, width: int = 640, height: int = 160) -> None:
        self.levels = [20 * float(np.log10(max(v, 1.0) / 32768)) for v in _audio.levels(pcm, rate, window)]
        self.seconds = len(pcm) / 2 / rate
        self.spans = spans or {}
        self.title, self.window, self.width, self.height = title, window, width, height

    def _repr_svg_(self) -> str:
        """The plot as SVG (drawn by Jupyter and by a static view of the notebook): the level, then a lane per span kind."""
        lane, left = 14, 120
        w = self.width
        top, plot_h = 20, self.height - 40
        lanes_top = top + plot_h + 6
        h = lanes_top + lane * len(self.spans) + 18
        plot_w = w - left - 10
        seconds = max(self.seconds, 0.1)

        def x(t: float) -> float:
            return left + plot_w * max(0.0, min(t, seconds)) / seconds

        def y(db: float) -> float:
            return top + plot_h * (min(0.0, max(-80.0, db)) / -80.0)

        colours = ["#f4a261", "#e76f51", "#2a9d8f", "#8ab17d"]
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
                 f'font-size="10"><rect width="{w}" height="{h}" fill="white"/>',
                 f'<text x="{left}" y="12" font-size="11">{html.escape(self.title)}</text>']
        for db in (0, -20, -40, -60, -80):
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(db):.1f}" y2="{y(db):.1f}" '
                         f'stroke="#ddd"/><text x="{left - 36}" y="{y(db) + 3:.1f}">{db} dB</text>')
        for i, (name, spans) in enumerate(self.spans.items()):
            colour, y0 = colours[i % len(colours)], lanes_top + i * lane
            parts.append(f'<text x="4" y="{y0 + 10}">{html.escape(name)}</text>')
            for a, b in spans:
                parts.append(f'<rect x="{x(a):.1f}" y="{y0 + 2}" width="{max(1.0, x(b) - x(a)):.1f}" '
                             f'height="{lane - 4}" fill="{colour}"/>')
        step = 1 if seconds <= 12 else 2 if seconds <= 30 else 5
        for t in range(0, int(seconds) + 1, step):
            parts.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{h - 16}" stroke="#eee"/>'
                         f'<text x="{x(t) - 3:.1f}" y="{h - 4}">{t} s</text>')
        points = " ".join(f"{x((i + 0.5) * self.window):.1f},{y(db):.1f}" for i, db in enumerate(self.levels))
        parts.append(f'<polyline points="{points}" fill="none" stroke="#264653" stroke-width="1.2"/></svg>')
        return "".join(parts)

    def __repr__(self) -> str:
        return f"<LevelPlot {self.seconds:.1f} s {self.title!r}>"
