"""The old home of the spandrel wrapper, kept so that saved ``model_index.json`` files naming
``restorers.dpir.ir_network.SpandrelIRNetwork`` keep loading; the class lives in :mod:`restorers.nn.spandrel_network`."""

from ..nn.spandrel_network import SpandrelNetwork as SpandrelIRNetwork
from ..nn.spandrel_network import read_state_dict

__all__ = ["SpandrelIRNetwork", "read_state_dict"]
