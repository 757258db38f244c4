# The solution to the "Try it" of 11_into_your_vicidial.ipynb: the notebook runs it with %run -i, in its own namespace.

def hand_back(call, key):
    """Send the caller on to VICIdial: key 2 to the SUPPORT DID, anything else to this DID's label."""
    if key == "2":
        call.continue_in_dialplan(context=vd.DID_CONTEXT, extension=vd.SUPPORT_DID, priority=1)
    else:
        call.continue_in_dialplan(context=vd.DID_CONTEXT, extension=vd.PREMENU_DID, label=vd.LABEL)
