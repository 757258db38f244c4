# The solution to the "Try it" of 12_from_notebook_to_service.ipynb: the notebook runs it with %run -i, in its own namespace.

command = ["vicifast-kit", "load", "ivr_service.py", "--callers", "20", "--rate", "5", "--dtmf", "1", "--json"]
