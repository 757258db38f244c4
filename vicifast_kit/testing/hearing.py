"""What a caller heard, in the order it heard it: the prompts played to its call (known from events) and the other
speech on its line (found in a recording of what reached it, then recognised).

Pure logic, no Asterisk: `FarSide` reads the events of the far half of a call (the half the app or the dialplan
talks to) and keeps the prompts played to it, with when they started and stopped; `speech_outside` finds the
speech in the caller's audio that no prompt explains; `recogniser` makes the function that turns it into words;
`heard_text` joins it all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

#: Dialplan applications that play prompts to the channel they run on, and where their sounds are in their data:
#: the index of the comma-separated argument that lists the sounds ('&' between sounds).
PROMPT_APPS: dict[str, int] = {"playback": 0, "background": 0, "read": 1, "controlplayback": 0}
#: How far before a prompt's start and after its end (s) the audio on the line is still the prompt's (the events and
#: the sound are a few tens of milliseconds apart; measured in the lab, speech right after a prompt starts ~0.2 s on).
MARGIN_BEFORE, MARGIN_AFTER = 0.2, 0.1


@dataclass
class Heard:
    """One thing the caller heard: when (s after dialling), until when (None: not known), its text, and where it came from.

    ``source`` is "prompt" (a sound played to the call: its words are the lab's transcript), "speech" (other
    speech on the line, recognised) or "music" (the call waited in a holding bridge: no words); ``sound`` names the prompt ("hello-world"), ``cut`` says it was stopped early.
    """

    at: float
    until: float | None
    text: str
    source: str = "prompt"
    sound: str | None = None
    cut: bool = False

    def __repr__(self) -> str:
        span = f"{self.at:.1f}-{self.until:.1f} s" if self.until is not None else f"{self.at:.1f} s-"
        what = f"sound:{self.sound}" if self.sound else self.source
        return f"<Heard {span} {what}{' (cut)' if self.cut else ''}: {self.text!r}>"


def clean_transcript(text: str | None) -> str:
    """A prompt's words as a caller hears them: the transcript's notes in brackets ("(simple tone sound plays)") left out."""
    if not text:
        return ""
    return " ".join(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text).split())


def media_words(media_uri: str, transcript: Callable[[str], str | None]) -> tuple[str | None, str | None]:
    """(sound name, words) of what a playback's media URI says: a lab prompt by its transcript (None: unknown), digits as such."""
    kind, _, value = media_uri.partition(":")
    if kind == "sound":
        words = transcript(value)
        return value, (None if words is None else clean_transcript(words))
    if kind in ("digits", "characters"):
        return None, " ".join(value)
    if kind == "number":
        return None, value
    return None, None


def dialplan_sounds(app: str, data: str) -> list[str]:
    """The sounds a dialplan application plays ("Playback", "a&b,noanswer" -> ["a", "b"]); [] for other applications."""
    where = PROMPT_APPS.get(str(app).lower())
    if where is None:
        return []
    args = str(data or "").split(",")
    if len(args) <= where:
        return []
    return [s.strip() for s in args[where].split("&") if s.strip()]


class FarSide:
    """The prompts played to the far half of a call (``far``), from its events in the order they came.

    Feed it each event about the far half or a bridge it is in, with its time in seconds after dialling:
    ``feed(raw, at)``. It knows ARI playbacks on the channel (PlaybackStarted, PlaybackContinuing,
    PlaybackFinished), on a bridge while the channel is in it, and the dialplan's own prompt applications
    (ChannelDialplan: Playback, Background, Read, ControlPlayback), and the time it waits in a holding bridge
    (music). ``heard`` is what it found, oldest first.
    """

    def __init__(self, far: str, transcript: Callable[[str], str | None]) -> None:
        self.far = far
        self.transcript = transcript
        self.heard: list[Heard] = []
        self.bridges: dict[str, str] = {}       # bridge id -> its type, while the far half is in it
        self.entered: list[tuple[float, str, str]] = []   # (at, bridge id, type): every bridge it entered
        self.digits = ""
        self.steps: list[tuple[float, str, str, str, str]] = []     # (at, context, extension, app, data)
        self._playbacks: set[str] = set()       # the playbacks the far half hears
        self._playing: dict[str, Heard] = {}    # playback id -> what it plays now
        self._dialplan: Heard | None = None     # the dialplan prompt playing now
        self._held: dict[str, Heard] = {}       # holding bridge id -> the music heard there

    def _ours(self, target: str) -> bool:
        kind, _, ident = target.partition(":")
        return (kind == "channel" and ident == self.far) or (kind == "bridge" and ident in self.bridges)

    def _stop(self, heard: Heard | None, at: float, cut: bool = False) -> None:
        if heard is not None and heard.until is None:
            heard.until = max(heard.at, at)
            heard.cut = heard.cut or cut

    def feed(self, raw: dict, at: float) -> None:
        """Take one event (ARI's JSON) that came `at` seconds after dialling."""
        kind = raw.get("type", "")
        if kind.startswith("Playback"):
            playback = raw.get("playback") or {}
            ident = playback.get("id", "")
            if kind == "PlaybackStarted" and self._ours(playback.get("target_uri", "")):
                self._playbacks.add(ident)
            if ident not in self._playbacks:
                return
            before = self._playing.pop(ident, None)
            state = playback.get("state")
            if kind == "PlaybackFinished" and state == "failed" and before is not None:
                self.heard.remove(before)          # the sound did not play: nobody heard it
            else:
                self._stop(before, at, cut=kind == "PlaybackFinished" and state not in ("done", None))
            if kind in ("PlaybackStarted", "PlaybackContinuing"):
                sound, words = media_words(playback.get("media_uri", ""), self.transcript)
                if words is not None:
                    heard = Heard(at, None, words, "prompt", sound)
                    self._playing[ident] = heard
                    self.heard.append(heard)
            return
        channel = raw.get("channel") or {}
        if channel.get("id") != self.far:
            return
        if kind == "ChannelDialplan":
            self._stop(self._dialplan, at)
            self._dialplan = None
            app, data = raw.get("dialplan_app", ""), raw.get("dialplan_app_data", "")
            where = channel.get("dialplan") or {}
            self.steps.append((at, where.get("context", ""), where.get("exten", ""), app, data))
            sounds = dialplan_sounds(app, data)
            known = [w for w in (self.transcript(s) for s in sounds) if w is not None]
            if known:       # prompts with no transcript are left to the recogniser
                words = " ".join(w for w in map(clean_transcript, known) if w)
                self._dialplan = Heard(at, None, words, "prompt", "&".join(sounds))
                self.heard.append(self._dialplan)
        elif kind == "ChannelDtmfReceived":
            self.digits += raw.get("digit", "")
        elif kind == "ChannelEnteredBridge":
            bridge = raw.get("bridge") or {}
            ident, bridge_type = bridge.get("id", ""), bridge.get("bridge_type", "")
            self.bridges[ident] = bridge_type
            self.entered.append((at, ident, bridge_type))
            if bridge_type == "holding":     # a holding bridge: its members hear music (or its announcer), never talk
                self._held[ident] = Heard(at, None, "", "music")
                self.heard.append(self._held[ident])
        elif kind == "ChannelLeftBridge":
            ident = (raw.get("bridge") or {}).get("id", "")
            self.bridges.pop(ident, None)
            self._stop(self._held.pop(ident, None), at)
        elif kind in ("ChannelHangupRequest", "ChannelDestroyed"):
            self.end(at)

    def end(self, at: float) -> None:
        """The far half is gone (or the call is over) `at` s after dialling: whatever still plays stops there."""
        for heard in self._playing.values():
            self._stop(heard, at)
        self._playing.clear()
        for heard in self._held.values():
            self._stop(heard, at)
        self._held.clear()
        self._stop(self._dialplan, at)
        self._dialplan = None


def covered(heard: Iterable[Heard], end: float) -> list[tuple[float, float]]:
    """The spans of the call (s after dialling) that known prompts and music explain, a little margin added."""
    return [(h.at - MARGIN_BEFORE, (h.until if h.until is not None else end) + MARGIN_AFTER)
            for h in heard if h.source in ("prompt", "music")]


def speech_outside(spans: Sequence[tuple[float, float]], known: Sequence[tuple[float, float]],
                   min_seconds: float = 0.3) -> list[tuple[float, float]]:
    """The parts of speech spans (s) that no known span covers, each at least min_seconds long."""
    out = []
    for start, end in spans:
        pieces = [(start, end)]
        for a, b in known:
            pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] > p[0]]
        out += [(round(s, 2), round(e, 2)) for s, e in pieces if e - s >= min_seconds]
    return sorted(out)


def phrase(text: str) -> str:
    """An expected phrase as a recogniser's grammar takes it: lower-case words ("Press 1, please!" -> "press one please")."""
    digits = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
              "7": "seven", "8": "eight", "9": "nine"}
    words = re.findall(r"[a-z']+|[0-9]", str(text).lower().replace("’", "'"))
    spoken = " ".join(digits.get(w, w) for w in words).strip("' ")
    if not spoken:
        raise ValueError(f"expect: {text!r} has no words to listen for; give phrases such as \"billing please\"")
    return spoken


def recogniser(expect: Sequence[str] | None = None) -> Callable[[bytes, int], str]:
    """A function (pcm, rate) -> words: the kit's offline recogniser (vk.voice.recognise) listening for `expect`.

    With `expect` (the phrases the test expects on the line), an utterance comes out as the closest of them
    (with the lead-ins and "please" the kit's grammar allows around it); without, as the words of the kit's
    voice bot (sales, billing, agent ...). Anything said comes out as one of these: offline recognition of
    open speech is poor, so list the phrases a wrong path would say too.
    """
    intents = None if expect is None else {f"p{i}": [phrase(p)] for i, p in enumerate(expect)}

    def recognise(pcm: bytes, rate: int) -> str:
        from ..voice import recognise as kit_recognise      # numpy and pocketsphinx only when there is speech
        return kit_recognise(pcm, rate, intents).text
    return recognise


def heard_text(parts: Iterable[Heard]) -> str:
    """Everything heard as one text, in order: each part's words, joined by spaces."""
    return " ".join(p.text.strip() for p in sorted(parts, key=lambda p: p.at) if p.text.strip())
