"""The old home of the spandrel wrapper, kept so that saved ``model_index.json`` files naming
``restorers.dpir.ir_network.SpandrelIRNetwork`` keep loading; the class lives in :mod:`restorers.nn.spandrel_network`.

diffusers finds a custom component's loading methods by looking up its base classes in the module the folder
names, so this module must also expose ``ModelMixin``.
"""

from diffusers import ModelMixin

from ..nn.spandrel_network import SpandrelNetwork as SpandrelIRNetwork
from ..nn.spandrel_network import read_state_dict

__all__ = ["ModelMixin", "SpandrelIRNetwork", "read_state_dict"]
