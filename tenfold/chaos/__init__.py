"""tenfold.chaos: a Chaos Toolkit extension that breaks the local tenfold stack on purpose, and undoes it.

Laid out like chaostoolkit-kubernetes: one package per area with ``actions.py`` and ``probes.py`` of plain
functions. Everything acts through the local controller's loopback API (``tenfold.chaos._controller``), never
by process name. ``chaos discover --no-install tenfold.chaos`` lists every activity with its docstring.
"""

from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result
from chaoslib.types import DiscoveredActivities, Discovery

__all__ = ["AREAS", "__version__", "discover"]

__version__ = "0.1.0"

#: areas with actions (faults and their undo) and probes (what the fault looks like from outside)
AREAS = ("replicas", "cache", "database", "dynamodb", "links", "cpu")
#: areas with probes only (steady-state hypotheses)
_PROBE_AREAS = ("gateway", "prometheus")


def discover(discover_system: bool = True) -> Discovery:
    """What this extension can do to the local stack; there is no system to discover beyond the controller."""
    discovery = initialize_discovery_result("tenfold-chaos", __version__, "tenfold")
    discovery["activities"].extend(load_exported_activities())
    return discovery


def load_exported_activities() -> list[DiscoveredActivities]:
    activities: list[DiscoveredActivities] = []
    for area in AREAS:
        activities.extend(discover_actions(f"tenfold.chaos.{area}.actions"))
        activities.extend(discover_probes(f"tenfold.chaos.{area}.probes"))
    for area in _PROBE_AREAS:
        activities.extend(discover_probes(f"tenfold.chaos.{area}.probes"))
    return activities
