# The solution to the "Try it" of 05_confbridge_and_bridges.ipynb: the notebook runs it with %run -i, in its own namespace.

def warm_transfer(caller, new_agent):
    """Move `caller` into a new mixing bridge with `new_agent`; return that bridge."""
    after = ari.bridges.create(type="mixing", name="after")
    after.add_channel(channel=[caller, new_agent])
    return after
