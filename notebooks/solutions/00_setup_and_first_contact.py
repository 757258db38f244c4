# The solution to the "Try it" of 00_setup_and_first_contact.ipynb: the notebook runs it with %run -i, in its own namespace.

def decide(call):
    """Answer the call if the caller's number is VIP_NUMBER, otherwise hang up."""
    if call.caller.number == VIP_NUMBER:
        call.answer()
    else:
        call.hangup()
