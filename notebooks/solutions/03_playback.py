# The solution to the "Try it" of 03_playback.ipynb: the notebook runs it with %run -i, in its own namespace.

def position_playlist(position):
    """What a caller waiting at `position` hears, as a list of media."""
    if position == 1:
        first = ["sound:queue-youarenext"]               # "Your call is now first in line and will be answered by the next available representative."
    else:
        first = ["sound:queue-thereare", f"number:{position}", "sound:queue-callswaiting"]
    return first + ["sound:queue-thankyou"]              # "Thank you for your patience"
