# The solution to the "Try it" of 08_hearing_and_speaking.ipynb: the notebook runs it with %run -i, in its own namespace.

def barge_in(call, prompt_seconds=10.0):
    """Play a long prompt to call; stop it the moment the caller talks."""
    with call.media() as stream:
        stream.send(audio.tone(440, prompt_seconds))
        started = time.monotonic()
        while time.monotonic() - started < prompt_seconds:
            chunk = stream.read(0.1)                  # what the caller said in the last 0.1 s
            if audio.level_db(chunk) > -35:           # louder than the quiet line: the caller talks
                stream.flush()                        # drop what is queued but not yet played
                break
        stream.wait_played(timeout=prompt_seconds + 5)
