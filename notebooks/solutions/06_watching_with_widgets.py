# The solution to the "Try it" of 06_watching_with_widgets.ipynb: the notebook runs it with %run -i, in its own namespace.

def greet(call):
    """Answer the call, play sound:hello-world to it and wait until it has played."""
    call.answer()
    greeting = call.play(media="sound:hello-world")
    greeting.wait_for("PlaybackFinished", timeout=10)
