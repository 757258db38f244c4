# The solution to the "Try it" (capstone) of 07_prototyping_a_custom_feature.ipynb: the notebook runs it with
# %run -i, in its own namespace (VIPS, on_call, CLOSED, OFFER, GOODBYE, finished and take_message come from there).

def after_hours(call):
    """The after-hours line for one call; returns where it went: "agent", "message" or "closed"."""
    call.answer()
    if call.caller.number in VIPS:              # a VIP hears no prompt: straight to the on-call agent
        on_call.add_channel(channel=call)
        return "agent"
    prompts = call.play(media=[*CLOSED, OFFER])
    key = call.collect_digits(max_digits=1, timeout=12)   # the prompts last about 5 s: a key any time, or 7 s after
    try:
        prompts.stop()                          # a key stops the prompts at once (barge-in),
    except vk.NotFound:
        pass                                    # unless they had ended
    if key == "5":
        return take_message(call)
    finished(call.play(media=GOODBYE))          # a wrong key, or none: the office is closed
    call.hangup()
    return "closed"
