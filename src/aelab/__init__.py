"""aelab: autoencoders for industrial analytics.

Heavy modules (torch, Lightning, matplotlib) are imported by the submodules that need
them, so ``import aelab`` and ``aelab --help`` stay fast.
"""

__version__ = "0.1.0"
