# The solution to the "Try it" of 05_confbridge_and_bridges.ipynb: the notebook runs it with %run -i, in its own namespace.

def warm_transfer(customer, agent, talk, call_supervisor):
    """Consult the supervisor while the customer waits with music; put the customer through, or back to the agent."""
    hold = ari.bridges.create(type="holding", name="on-hold")
    hold.start_moh(moh_class="default")
    hold.add_channel(channel=customer)                  # the customer waits, with music
    supervisor = call_supervisor()                      # rings the supervisor; returns once they answer

    consult = ari.bridges.create(type="mixing", name="consult")
    consult.add_channel(channel=[agent, supervisor])    # the agent and the supervisor talk; the customer hears music
    try:
        key = supervisor.wait_for("ChannelDtmfReceived", timeout=8).digit   # 1: put them through, 2: not now
    except vk.WaitTimeout:
        key = None                                      # no answer: treat it as "not now"

    hold.destroy()                                      # the wait is over, whatever the answer
    if key == "1":
        consult.add_channel(channel=customer)           # the customer meets the supervisor (a moment with three)
        agent.hangup()                                  # the agent hands over and is free for the next call
        talk.destroy()
        return consult
    supervisor.hangup()                                 # no (or no answer): back to the agent
    consult.destroy()
    talk.add_channel(channel=[customer, agent])
    return talk
