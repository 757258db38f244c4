# The solution to the "Try it" of 08_hearing_and_speaking.ipynb: the notebook runs it with %run -i, in its own namespace.

# Section 1 measured the quiet line at about -52 dBFS and the voice at -30 to -15 dBFS: a threshold between
# them, nearer the voice (a louder line must not stop the prompt), catches the first syllable.
THRESHOLD_DB = -35


def barge_in(call, prompt_seconds=10.0):
    """Play a long prompt to call; stop it the moment the caller talks."""
    with call.media() as stream:
        stream.send(audio.tone(440, prompt_seconds))      # the prompt: queued all at once
        started = time.monotonic()
        while time.monotonic() - started < prompt_seconds:
            chunk = stream.read(0.1)                      # what the caller said in the last 0.1 s
            if audio.level_db(chunk) > THRESHOLD_DB:      # the caller talks
                stream.flush()                            # drop what is queued but not yet played
                break
        stream.wait_played(timeout=prompt_seconds + 5)
