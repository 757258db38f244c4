"""Live ipywidgets for ARI: watch channels, bridges and events; act on a call; see its flow.

``vk.widgets.dashboard(ari)`` (or ``ari.dashboard()``) shows everything at once. Each widget is
fed by the client's events through a plain model and a UI pump thread that applies changes in
batches (``hold_sync``, at most ~10 updates a second per widget); ``snapshot()`` returns what a
widget shows as plain data; ``close()`` unsubscribes it and stops its pump.
"""

from .bridgemap import BridgeMap, bridge_map
from .bridges import BridgesView
from .callflow import CallFlow
from .channels import ChannelsTable
from .control import CallControl
from .dashboard import Dashboard, dashboard
from .eventlog import EventLog
from .listen import Listen
from .phone import Phone
from .model import LiveModel
from .pump import Pump

__all__ = ["ChannelsTable", "BridgesView", "CallControl", "EventLog", "CallFlow", "Dashboard", "dashboard",
           "LiveModel", "Pump", "Listen", "Phone", "BridgeMap", "bridge_map"]
