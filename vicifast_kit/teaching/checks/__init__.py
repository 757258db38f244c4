"""The notebooks' exercise checks, one module per notebook (``from vicifast_kit.teaching.checks import playback``).

Each check runs the learner's code against the lab and returns one line: what went wrong and what to
try next, or "Well done: ...". A check never raises and leaves nothing in the lab.
"""
