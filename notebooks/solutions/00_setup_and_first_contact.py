# The solution to the "Try it" of 00_setup_and_first_contact.ipynb: the notebook runs it with %run -i, in its own namespace.

def decide(call):
    """VIPs: answer at once. Blocked numbers: hang up. Anyone else: leave the call ringing for an agent."""
    number = call.caller.number          # who is calling, known before anyone answers
    if number in VIP_NUMBERS:
        call.answer()
    elif number in BLOCKED_NUMBERS:
        call.hangup()
    # anyone else: do nothing - the call keeps ringing in Stasis until an agent (or a program) takes it
