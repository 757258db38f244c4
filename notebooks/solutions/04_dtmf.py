# The solution to the "Try it" of 04_dtmf.ipynb: the notebook runs it with %run -i, in its own namespace.

def read_extension(call, tries=3):
    """The extension (3 digits, 100-399) the caller types, '#' ending early; None if they press nothing or fail `tries` times."""
    for attempt in range(tries):
        typed = call.collect_digits(max_digits=3, terminator="#", timeout=5)
        if typed == "":                                      # no key at all: don't nag, let the caller go on
            return None
        if len(typed) == 3 and typed.isdigit() and 100 <= int(typed) <= 399:
            return typed
        call.play(media="sound:pm-invalid-option").wait_for("PlaybackFinished", timeout=10)
    return None
