# The solution to the "Try it" of 04_dtmf.ipynb: the notebook runs it with %run -i, in its own namespace.

def read_extension(call):
    """The extension the caller types: at most 3 digits, ended early by '#'."""
    return call.collect_digits(max_digits=3, terminator="#", timeout=10)
