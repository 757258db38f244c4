# The solution to the "Try it" of 02_answering_a_call.ipynb: the notebook runs it with %run -i, in its own namespace.

def attendant(call, number):
    """Answer; on the closed line say goodbye and hang up; on any other, say hello and give the call to the hold music."""
    call.answer()
    if number == CLOSED:
        goodbye = call.play(media="sound:vm-goodbye")
        goodbye.wait_for("PlaybackFinished", timeout=10)      # nobody stops it: it ends when it has played
        call.hangup()
    else:
        hello = call.play(media="sound:hello-world")
        hello.wait_for("PlaybackFinished", timeout=10)
        call.continue_in_dialplan(context="inbound", extension="9001", priority=1)
