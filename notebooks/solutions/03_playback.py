# The solution to the "Try it" of 03_playback.ipynb: the notebook runs it with %run -i, in its own namespace.

def position_playlist(position):
    """The playlist that says "You are currently caller number <position>. Waiting to speak with a representative"."""
    return ["sound:queue-thereare", f"number:{position}", "sound:queue-callswaiting"]
