# The solution to the "Try it" of 02_answering_a_call.ipynb: the notebook runs it with %run -i, in its own namespace.

def auto_attendant(call):
    """Answer the call, greet the caller with sound:hello-world, and hang up once it has played."""
    call.answer()
    greeting = call.play(media="sound:hello-world")
    greeting.wait_for("PlaybackFinished", timeout=10)
    call.hangup()
