"""Live ipywidgets for ARI: watch channels, bridges and events; act on a call; see its flow.

``vk.widgets.dashboard(ari)`` (or ``ari.dashboard()``) shows everything at once. Each widget is
fed by the client's events through a plain model; one scheduler thread per client (see
``scheduler``) applies every widget's changes in batches (at most ~10 updates a second per widget)
and carries the audio widgets' frames. ``snapshot()`` returns what a widget shows as plain data;
``flush()`` returns once what it should show has been sent to the page; ``close()`` unsubscribes it
and stops its job.
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
from .scheduler import Scheduler, scheduler_for
from .wireview import Wire

__all__ = ["ChannelsTable", "BridgesView", "CallControl", "EventLog", "CallFlow", "Dashboard", "dashboard",
           "LiveModel", "Scheduler", "scheduler_for", "Listen", "Phone", "BridgeMap", "bridge_map",
           "Wire"]
