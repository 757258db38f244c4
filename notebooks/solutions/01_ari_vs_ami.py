# The solution to the "Try it" of 01_ari_vs_ami.ipynb: the notebook runs it with %run -i, in its own namespace.

WALLBOARD_FILTERS = [
    ("name(Newchannel)", ""),                                     # a call starts
    ("name(DTMFEnd)", ""),                                        # a key was pressed (once per key, at its end)
    ("name(Hangup)", ""),                                         # a call ends
    ("action(exclude),header(Channel),method(ends_with)", ";1"),  # not the pretend customers' halves
]
# Includes first (an event passes if it matches any of them), then the exclude removes what it matches.
# The same lines in manager.conf, for the wallboard's own AMI user:
#   eventfilter(name(Newchannel)) =
#   eventfilter(name(DTMFEnd)) =
#   eventfilter(name(Hangup)) =
#   eventfilter(action(exclude),header(Channel),method(ends_with)) = ;1
