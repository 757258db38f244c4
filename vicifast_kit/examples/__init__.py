"""Examples that ship with the kit: ``ivr.py`` is notebook 07's IVR as a service (``vicifast-kit serve``)."""
