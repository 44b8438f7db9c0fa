"""Memory upgrade planning: the board/chipset spec table and the planner that checks plans against it."""

from tools_server.hardware.models import ModuleOrder, PlanCheck, RemovedModule, UpgradePlan
from tools_server.hardware.planner import plan_upgrade, validate_plan
from tools_server.hardware.specs import SpecTable, load_spec_table, match_board

__all__ = [
    "ModuleOrder",
    "PlanCheck",
    "RemovedModule",
    "SpecTable",
    "UpgradePlan",
    "load_spec_table",
    "match_board",
    "plan_upgrade",
    "validate_plan",
]
