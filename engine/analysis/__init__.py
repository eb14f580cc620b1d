"""Analysis: the check (order, cycles, shapes on meta, parameters, MACs, memory), the lints
and their fixes, and the checkers of data and training nodes.

The checkers of node kinds other than the model's are registered here, in one place, so
that importing any module of the analysis registers all of them and no lower module has
to import a higher one to be heard.
"""

from engine.analysis import data_check, training_check
from engine.analysis.report import register_checker, register_finisher

register_checker("data", data_check.check_data_node)
register_checker("loss", training_check.check_loss)
register_checker("optimizer", training_check.check_optimizer)
register_finisher(training_check.finish)
